// The shop's own script, talking to Perch through its one global: an unread badge on the
// "Team chat" button, which moves focus to the buddy list (a chat then opens from there).
(function () {
  var badge = document.getElementById('unread');
  window.Perch('on', 'unread', function (total) {
    badge.textContent = String(total);
    badge.hidden = total === 0;
    document.title = (total ? '(' + total + ') ' : '') + document.title.replace(/^\(\d+\) /, '');
  });
  document.getElementById('messages').addEventListener('click', function () {
    var list = document.querySelector('perch-buddy-list');
    if (list) list.focus();
  });
})();
