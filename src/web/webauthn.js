// Passkeys (WebAuthn) for Latchkey, served as /static/passkey.js: the one script the
// portal serves, loaded only by the pages that add or use a passkey. A form marked
// data-passkey="register" or "logon" gets its options from data-options (a POST with the
// form's fields, CSRF included), asks the browser's authenticator, puts the answer (JSON)
// in the hidden "credential" field and submits the form as usual: the server answers
// with an ordinary page.
(function () {
  'use strict';

  function toBuffer(b64url) {
    var s = b64url.replace(/-/g, '+').replace(/_/g, '/');
    while (s.length % 4) s += '=';
    var bin = atob(s);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var s = '';
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function withIds(list) {
    return (list || []).map(function (c) {
      return Object.assign({}, c, { id: toBuffer(c.id) });
    });
  }

  async function fetchOptions(form) {
    var body = new URLSearchParams(new FormData(form));
    body.delete('credential');
    var r = await fetch(form.dataset.options, {
      method: 'POST',
      body: body,
      credentials: 'same-origin',
      headers: { Accept: 'application/json' },
    });
    var data = null;
    try {
      data = await r.json();
    } catch (e) {
      data = null;
    }
    if (!r.ok || !data || data.error) {
      throw new Error((data && data.error) || form.dataset.failed);
    }
    return data.publicKey;
  }

  async function register(form) {
    var pk = await fetchOptions(form);
    pk.challenge = toBuffer(pk.challenge);
    pk.user.id = toBuffer(pk.user.id);
    pk.excludeCredentials = withIds(pk.excludeCredentials);
    var cred = await navigator.credentials.create({ publicKey: pk });
    var transports = cred.response.getTransports ? cred.response.getTransports() : undefined;
    return {
      id: cred.id,
      rawId: toBase64url(cred.rawId),
      type: cred.type,
      response: {
        attestationObject: toBase64url(cred.response.attestationObject),
        clientDataJSON: toBase64url(cred.response.clientDataJSON),
        transports: transports,
      },
      extensions: {},
    };
  }

  async function logon(form) {
    var pk = await fetchOptions(form);
    pk.challenge = toBuffer(pk.challenge);
    pk.allowCredentials = withIds(pk.allowCredentials);
    var cred = await navigator.credentials.get({ publicKey: pk });
    var handle = cred.response.userHandle;
    return {
      id: cred.id,
      rawId: toBase64url(cred.rawId),
      type: cred.type,
      response: {
        authenticatorData: toBase64url(cred.response.authenticatorData),
        clientDataJSON: toBase64url(cred.response.clientDataJSON),
        signature: toBase64url(cred.response.signature),
        userHandle: handle ? toBase64url(handle) : null,
      },
      extensions: {},
    };
  }

  function setUp(form) {
    var status = form.querySelector('.passkey-status');
    var button = form.querySelector('[data-passkey-button]');
    if (!window.PublicKeyCredential || !navigator.credentials) {
      status.textContent = form.dataset.unsupported;
      return;
    }
    button.hidden = false;
    var busy = false;
    form.addEventListener('submit', async function (event) {
      event.preventDefault();
      if (busy) return;
      busy = true;
      button.disabled = true;
      status.textContent = '';
      try {
        var answer = form.dataset.passkey === 'register' ? await register(form) : await logon(form);
        form.elements.credential.value = JSON.stringify(answer);
        form.submit();
      } catch (e) {
        status.textContent = e && e.message && e.name === 'Error' ? e.message : form.dataset.failed;
        busy = false;
        button.disabled = false;
      }
    });
  }

  document.querySelectorAll('form[data-passkey]').forEach(setUp);
})();
