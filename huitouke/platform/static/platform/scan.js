// The till's camera reader for the member's QR code. It reads with the browser's BarcodeDetector where the
// browser has one, else with the vendored jsQR on video frames; what it reads goes into the same field a
// scanner gun types into, and the form is submitted as if the gun had pressed Enter.
(function () {
  "use strict";
  const button = document.querySelector("[data-scan-start]");
  if (!button) return;
  const video = document.querySelector("[data-scan-video]");
  const status = document.querySelector("[data-scan-status]");
  const input = document.querySelector("[data-scan-target]");
  const canvas = document.createElement("canvas");
  let stream = null;
  let detector = null;

  async function qrDetector() {
    if (!("BarcodeDetector" in window)) return null;
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      return formats.includes("qr_code") ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
    } catch (error) {
      return null;
    }
  }

  async function start() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      status.textContent = button.dataset.noCamera;
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    } catch (error) {
      status.textContent = button.dataset.noCamera;
      return;
    }
    detector = await qrDetector();
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    status.textContent = button.dataset.scanning;
    button.textContent = button.dataset.stopLabel;
    requestAnimationFrame(tick);
  }

  function stop() {
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    video.hidden = true;
    button.textContent = button.dataset.startLabel;
  }

  async function read() {
    if (detector) {
      const codes = await detector.detect(video);
      return codes.length ? codes[0].rawValue : null;
    }
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    const context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(video, 0, 0);
    const image = context.getImageData(0, 0, canvas.width, canvas.height);
    const found = window.jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
    return found ? found.data : null;
  }

  async function tick() {
    if (!stream) return;
    if (video.readyState >= 2 && video.videoWidth) {
      const text = await read();
      if (text) {
        stop();
        status.textContent = "";
        input.value = text;
        input.form.requestSubmit();
        return;
      }
    }
    requestAnimationFrame(tick);
  }

  button.addEventListener("click", () => (stream ? stop() : start()));
})();
