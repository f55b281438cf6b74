// Security keys and passkeys (W3C WebAuthn Level 3). The server sends JSON options; the browser
// signs; the server verifies. Markup: an element with data-webauthn="authenticate|passkey|register",
// data-options-url, data-verify-url, data-csrf, a [data-webauthn-start] button and an error slot.
(function () {
  'use strict';

  function fromBase64url(text) {
    var base64 = text.replace(/-/g, '+').replace(/_/g, '/');
    var binary = atob(base64 + '==='.slice((base64.length + 3) % 4));
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = '';
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function withIds(list) {
    return (list || []).map(function (c) {
      return Object.assign({}, c, { id: fromBase64url(c.id) });
    });
  }

  function creationOptions(json) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    return Object.assign({}, json, {
      challenge: fromBase64url(json.challenge),
      user: Object.assign({}, json.user, { id: fromBase64url(json.user.id) }),
      excludeCredentials: withIds(json.excludeCredentials),
    });
  }

  function requestOptions(json) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    return Object.assign({}, json, {
      challenge: fromBase64url(json.challenge),
      allowCredentials: withIds(json.allowCredentials),
    });
  }

  function credentialJson(credential) {
    if (typeof credential.toJSON === 'function') return credential.toJSON();
    var r = credential.response;
    var response = { clientDataJSON: toBase64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toBase64url(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = toBase64url(r.authenticatorData);
      response.signature = toBase64url(r.signature);
      if (r.userHandle) response.userHandle = toBase64url(r.userHandle);
    }
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      response: response,
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment,
    };
  }

  function post(url, csrf, body) {
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(Object.assign({ _csrf: csrf }, body)),
    }).then(function (response) {
      return response.json().then(function (data) {
        // Step-up: the server sends the person to sign in again, then back to this page.
        if (response.status === 401 && data.redirect) {
          window.location.assign(data.redirect);
          return new Promise(function () {});
        }
        if (!response.ok) {
          var error = new Error(data.error_description || 'Something went wrong. Try again.');
          // A throttle's wait (RFC 9110 §10.2.3), for the countdown next to the message.
          error.retryAfter = response.status === 429 ? Number(response.headers.get('retry-after')) || 0 : 0;
          throw error;
        }
        return data;
      });
    });
  }

  function setUp(root) {
    var mode = root.getAttribute('data-webauthn');
    var button = root.querySelector('[data-webauthn-start]');
    var error = root.querySelector('[data-webauthn-error]');
    var csrf = root.getAttribute('data-csrf');
    var wait = root.querySelector('[data-webauthn-wait]');
    function show(message, retryAfter) {
      error.textContent = message;
      error.hidden = false;
      button.disabled = false;
      if (wait && retryAfter > 0 && window.twofoldCountdown) {
        wait.setAttribute('data-countdown', String(retryAfter));
        window.twofoldCountdown(wait);
      }
    }
    if (!window.PublicKeyCredential) {
      show('This browser cannot use security keys or passkeys. Choose another method.');
      button.disabled = true;
      return;
    }
    button.addEventListener('click', function () {
      button.disabled = true;
      error.hidden = true;
      var trust = root.querySelector('input[name="trust"]');
      var label = root.querySelector('input[name="label"]');
      var passkey = root.querySelector('input[name="passkey"]');
      post(root.getAttribute('data-options-url'), csrf, { passkey: passkey ? passkey.checked : false })
        .then(function (options) {
          return mode === 'register'
            ? navigator.credentials.create({ publicKey: creationOptions(options) })
            : navigator.credentials.get({ publicKey: requestOptions(options) });
        })
        .then(function (credential) {
          return post(root.getAttribute('data-verify-url'), csrf, {
            credential: credentialJson(credential),
            trust: trust && trust.checked ? 'on' : undefined,
            label: label ? label.value : undefined,
          });
        })
        .then(function (result) {
          window.location.assign(result.redirect);
        })
        .catch(function (e) {
          show(
            e && e.name === 'NotAllowedError'
              ? 'The request was cancelled or timed out. Try again.'
              : (e && e.message) || 'Something went wrong. Try again.',
            e && e.retryAfter,
          );
        });
    });
  }

  document.querySelectorAll('[data-webauthn]').forEach(setUp);
})();
