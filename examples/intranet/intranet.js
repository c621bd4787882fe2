// The directory page: a click (or Enter) on a person in the org chart shows their profile card
// instead of opening a chat — the page cancels the buddy list's perch-open-chat and handles it.
// The card's own "Message" button is left alone, so Perch opens a chat window for it.
(function () {
  var card = document.getElementById('card');
  var empty = document.getElementById('empty');
  function show(userId) {
    card.setAttribute('user-id', userId);
    card.hidden = false;
    empty.hidden = true;
  }
  document.addEventListener('perch-open-chat', function (event) {
    if (event.target.localName !== 'perch-buddy-list') return;
    event.preventDefault();
    show(event.detail.userId);
  });
  // Shift+F10 / right click in the list asks for the profile too.
  document.addEventListener('perch-open-profile', function (event) {
    show(event.detail.userId);
  });
})();
