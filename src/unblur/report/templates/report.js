// Last script of the report page: the comparison slider, then data-images-ok /
// data-images-total on <body> once every image has loaded or failed.
(function () {
  var box = document.getElementById("compare");
  var before = document.getElementById("img-blurred");
  var after = document.getElementById("img-restored");
  if (box && before && after) {
    box.querySelector(".c-before").src = before.src;
    box.querySelector(".c-after").src = after.src;
    var range = box.querySelector("input");
    var update = function () {
      box.style.setProperty("--pos", range.value + "%");
      range.setAttribute("aria-valuetext", "input left of " + range.value + "%, restored right");
    };
    range.addEventListener("input", update);
    update();
    box.hidden = false;
    document.getElementById("compare-hint").hidden = false;
  }
  window.addEventListener("load", function () {  // every image has loaded or failed by now
    var imgs = Array.prototype.slice.call(document.images);
    var ok = imgs.filter(function (img) { return img.complete && img.naturalWidth > 0; });
    document.body.setAttribute("data-images-total", String(imgs.length));
    document.body.setAttribute("data-images-ok", String(ok.length));
  });
})();
