// Demo only: how the example pages sign in without a site backend of their own.
//
// A real site puts its own token endpoint on the tag instead — no script needed:
//   <script src="https://chat.example.com/perch.js" data-token-url="/api/perch-token" async></script>
//
// Here, who you are comes from ?as=ID (remembered for this tab, so two windows can be two
// people), and the boot call is queued with the stub before perch.js (loaded async) arrives.
(function () {
  if (!window.Perch) {
    var queue = [];
    var stub = function () {
      queue.push(arguments);
    };
    stub.q = queue;
    window.Perch = stub;
  }
  var params = new URLSearchParams(location.search);
  var who = params.get('as') || sessionStorage.getItem('perch-demo-as');
  if (!who) {
    location.replace('/?next=' + encodeURIComponent(location.pathname));
    return;
  }
  sessionStorage.setItem('perch-demo-as', who);
  window.Perch('boot', { tokenUrl: '/demo/token?user=' + encodeURIComponent(who), user: who });
  window.Perch('on', 'ready', function (user) {
    document.querySelectorAll('[data-demo="me"]').forEach(function (el) {
      el.textContent = user.name;
    });
  });
})();
