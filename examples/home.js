// The demo's sign-in page: lists the demo company from /demo/people and opens an example as
// the chosen person (?as=ID). Runs under the page's strict CSP: no inline script, no innerHTML.
(function () {
  var select = document.getElementById('person');
  var form = document.getElementById('sign-in');
  var status = document.getElementById('status');
  var next = new URLSearchParams(location.search).get('next');
  if (next && /^\/[\w-]+\/$/.test(next)) {
    var radio = form.querySelector('input[value="' + next + '"]');
    if (radio) radio.checked = true;
  }
  fetch('/demo/people')
    .then(function (response) {
      if (!response.ok) throw new Error('the server answered ' + response.status);
      return response.json();
    })
    .then(function (people) {
      people.forEach(function (person) {
        var option = document.createElement('option');
        option.value = person.id;
        option.textContent = person.name + (person.title ? ' — ' + person.title : '');
        select.append(option);
      });
    })
    .catch(function (error) {
      status.textContent = 'Could not load the demo people (' + error.message + '). Is perch-server running with --demo?';
    });
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var page = form.querySelector('input[name="page"]:checked').value;
    // The memory-hub examples have their own people; the others sign in as the chosen one.
    location.href = page + '?as=' + encodeURIComponent(select.value);
  });
})();
