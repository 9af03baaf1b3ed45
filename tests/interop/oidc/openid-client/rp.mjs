// OpenID Connect relying party built on openid-client 6.x (panva), run against a tokenward
// example server: discovery, authorization code flow with PKCE (S256), state, nonce and the
// RFC 9207 `iss` response parameter, ID Token checks (signature included), UserInfo, refresh-token
// rotation and replay detection, and revocation.
//
// Usage (cwd = this directory, after `npm ci`):
//   OIDC_ISSUER=http://127.0.0.1:PORT OIDC_CLIENT_ID=interop OIDC_CLIENT_SECRET=... \
//   OIDC_REDIRECT_URI=http://127.0.0.1:9/cb OIDC_USERNAME=interop-user OIDC_PASSWORD=... \
//   node rp.mjs
// Optional: OIDC_CLIENT_AUTH=client_secret_post (default) | client_secret_basic,
//           OIDC_EMAIL=<the user's expected email>.
//
// The redirect URI is never served: the login form is driven over plain HTTP and the `Location`
// of the final 303 is handed to authorizationCodeGrant() as the callback URL.
// Prints one line per step; on failure prints what failed (with the HTTP exchanges of that step)
// and exits 1.

import { createHash } from 'node:crypto';
import { inspect } from 'node:util';

import * as client from 'openid-client';
import * as jose from 'jose';
import { parse as parseHtml } from 'node-html-parser';

// ---------------------------------------------------------------------------------------------
// configuration

function env(name, fallback) {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === '') {
    console.error(`FAIL: environment variable ${name} is required`);
    process.exit(2);
  }
  return value;
}

const ISSUER = env('OIDC_ISSUER');
const CLIENT_ID = env('OIDC_CLIENT_ID');
const CLIENT_SECRET = env('OIDC_CLIENT_SECRET');
const REDIRECT_URI = env('OIDC_REDIRECT_URI');
const USERNAME = env('OIDC_USERNAME');
const PASSWORD = env('OIDC_PASSWORD');
const CLIENT_AUTH = env('OIDC_CLIENT_AUTH', 'client_secret_post');
const EXPECTED_EMAIL = process.env.OIDC_EMAIL || undefined;

const SCOPE = 'openid profile email items:read';
const CLOCK_LEEWAY = 5; // seconds, for auth_time / iat plausibility checks (same machine)
const HTTP_TIMEOUT_MS = 30_000;

// ---------------------------------------------------------------------------------------------
// step runner and HTTP trace

class Fail extends Error {
  constructor(message, details) {
    super(message);
    this.name = 'Fail';
    if (details !== undefined) this.details = details;
  }
}

function check(condition, message, details) {
  if (!condition) throw new Fail(message, details);
}

const exchanges = [];
let stepNo = 0;
let stepName = '';
let stepFirstExchange = 0;

function redactForm(body) {
  const params = new URLSearchParams(body);
  for (const key of ['password', 'client_secret']) {
    if (params.has(key)) params.set(key, '<redacted>');
  }
  return params.toString();
}

function shorten(text, max = 2000) {
  return text.length > max ? `${text.slice(0, max)}... (${text.length} chars)` : text;
}

// Every HTTP request (openid-client's, jose's and the login form's) goes through here, so a
// failure can show exactly what was sent and what came back.
async function tracedFetch(url, options = {}) {
  const headers = new Headers(options.headers);
  const reqHeaders = {};
  for (const [k, v] of headers) {
    reqHeaders[k] = k === 'authorization' ? `${v.split(' ')[0]} <redacted>` : k === 'cookie' ? '<cookies>' : v;
  }
  let reqBody;
  if (options.body !== undefined && options.body !== null) {
    reqBody = redactForm(options.body.toString());
  }
  const record = { method: options.method ?? 'GET', url: String(url), request_headers: reqHeaders };
  if (reqBody !== undefined) record.request_body = reqBody;
  exchanges.push(record);
  const response = await fetch(url, {
    ...options,
    signal: options.signal ?? AbortSignal.timeout(HTTP_TIMEOUT_MS),
  });
  record.status = response.status;
  record.response_headers = Object.fromEntries(response.headers);
  const setCookies = response.headers.getSetCookie();
  if (setCookies.length) {
    record.response_headers['set-cookie'] = setCookies.map((c) => c.replace(/=[^;]*/, '=<value>'));
  }
  try {
    record.response_body = shorten(await response.clone().text());
  } catch (err) {
    record.response_body = `<unreadable: ${err}>`;
  }
  return response;
}

async function step(name, fn) {
  stepNo += 1;
  stepName = name;
  stepFirstExchange = exchanges.length;
  const summary = await fn();
  console.log(`ok ${String(stepNo).padStart(2)} ${name}${summary ? `: ${summary}` : ''}`);
}

function describeError(err) {
  const out = {};
  for (const key of ['name', 'code', 'error', 'error_description', 'status']) {
    if (err?.[key] !== undefined) out[key] = err[key];
  }
  if (err?.details !== undefined) out.details = err.details;
  if (err?.cause !== undefined) out.cause = err.cause;
  return out;
}

// ---------------------------------------------------------------------------------------------
// helpers

const b64url = (buf) => Buffer.from(buf).toString('base64url');

// OpenID Connect Core 1.0 §3.1.3.6: at_hash = base64url(left half of hash(access_token)), the
// hash being the one of the ID Token's alg.
function expectedAtHash(alg, accessToken) {
  const hashName = { 256: 'sha256', 384: 'sha384', 512: 'sha512' }[alg.slice(-3)] ?? (alg === 'EdDSA' || alg === 'Ed25519' ? 'sha512' : undefined);
  check(hashName, `cannot compute at_hash for alg ${alg}`);
  const digest = createHash(hashName).update(accessToken, 'ascii').digest();
  return b64url(digest.subarray(0, digest.length / 2));
}

function scopeSet(scope) {
  return new Set((scope ?? '').split(' ').filter(Boolean));
}

function sameSet(a, b) {
  return a.size === b.size && [...a].every((x) => b.has(x));
}

// Verifies the ID Token's signature independently of openid-client with jose against the
// issuer's JWKS, and the header and claims the contract requires. Returns the payload.
async function verifyIdToken(idToken, md, jwks, { accessToken, nonce, startedAt }) {
  const header = jose.decodeProtectedHeader(idToken);
  check(header.alg === 'RS256', `id_token alg is ${header.alg}, expected RS256 (the client registered no id_token_signed_response_alg; OIDC Core §3.1.3.7 step 7, HTTP contract)`, { header });
  check(typeof header.kid === 'string' && header.kid.length > 0, 'id_token header has no kid', { header });
  check(header.typ === undefined || header.typ === 'JWT', `id_token header typ is ${header.typ}, expected absent or JWT`, { header });
  let verified;
  try {
    verified = await jose.jwtVerify(idToken, jwks, {
      issuer: md.issuer,
      audience: CLIENT_ID,
      algorithms: ['RS256'],
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat'],
      clockTolerance: CLOCK_LEEWAY,
    });
  } catch (err) {
    throw new Fail(`jose.jwtVerify rejected the id_token: ${err.code ?? ''} ${err.message}`, { header, claims: jose.decodeJwt(idToken) });
  }
  const claims = verified.payload;
  const now = Math.floor(Date.now() / 1000);
  check(typeof claims.sub === 'string' && claims.sub.length > 0, 'id_token sub missing or empty', { claims });
  check(claims.azp === undefined || claims.azp === CLIENT_ID, `id_token azp ${claims.azp} is not the client id`, { claims });
  check(Number.isInteger(claims.iat) && claims.iat >= startedAt - CLOCK_LEEWAY && claims.iat <= now + CLOCK_LEEWAY, 'id_token iat is not the current time', { claims, now });
  check(Number.isInteger(claims.exp) && claims.exp > now, 'id_token exp is not in the future', { claims, now });
  if (nonce !== undefined) {
    check(claims.nonce === nonce, 'id_token nonce differs from the one sent', { claims, nonce });
  }
  if (accessToken !== undefined) {
    check(typeof claims.at_hash === 'string', 'id_token has no at_hash (required by the HTTP contract)', { claims });
    const want = expectedAtHash(header.alg, accessToken);
    check(claims.at_hash === want, `id_token at_hash ${claims.at_hash} does not match the access token (expected ${want}; OIDC Core §3.1.3.6)`, { claims });
  }
  return { header, claims };
}

function cookieHeader(jar) {
  return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
}

function storeCookies(jar, response) {
  for (const line of response.headers.getSetCookie()) {
    const pair = line.split(';', 1)[0];
    const eq = pair.indexOf('=');
    if (eq > 0) jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
}

// Submits the login form as a browser would: every successful control of the form (hidden
// inputs included), username and password filled in, plus the first named submit button.
function loginFormSubmission(html, pageUrl) {
  const root = parseHtml(html);
  const form = root.querySelectorAll('form').find((f) => f.querySelector('input[name="password"]'));
  check(form, 'the login page has no form with a password field', { html: shorten(html) });
  const method = (form.getAttribute('method') ?? 'get').toLowerCase();
  check(method === 'post', `the login form method is ${method}, expected post`);
  const action = new URL(form.getAttribute('action') ?? '', pageUrl);
  const body = new URLSearchParams();
  let submitter;
  for (const el of form.querySelectorAll('input, button, select, textarea')) {
    const name = el.getAttribute('name');
    const tag = el.tagName.toLowerCase();
    const type = (el.getAttribute('type') ?? (tag === 'button' ? 'submit' : 'text')).toLowerCase();
    if (!name || el.hasAttribute('disabled')) continue;
    if (type === 'submit' || type === 'image') {
      if (!submitter) submitter = [name, el.getAttribute('value') ?? ''];
      continue;
    }
    if (['button', 'reset', 'file'].includes(type)) continue;
    if ((type === 'checkbox' || type === 'radio') && !el.hasAttribute('checked')) continue;
    if (tag === 'textarea') body.append(name, el.textContent);
    else if (tag === 'select') continue; // none expected on a login form
    else body.append(name, el.getAttribute('value') ?? '');
  }
  if (submitter) body.append(...submitter);
  check(body.has('username') && form.querySelector('input[name="username"]'), 'the login form has no username field');
  for (const hidden of ['pending', 'csrf']) {
    check(body.get(hidden), `the login form has no non-empty hidden "${hidden}" input`, { form: shorten(form.outerHTML) });
  }
  body.set('username', USERNAME);
  body.set('password', PASSWORD);
  return { action, body };
}

// ---------------------------------------------------------------------------------------------
// the flow

async function main() {
  console.log(`openid-client RP against ${ISSUER} (client ${CLIENT_ID}, ${CLIENT_AUTH})`);
  let config;
  let md;
  let jwks;

  await step('discovery', async () => {
    let clientAuth;
    if (CLIENT_AUTH === 'client_secret_post') clientAuth = client.ClientSecretPost(CLIENT_SECRET);
    else if (CLIENT_AUTH === 'client_secret_basic') clientAuth = client.ClientSecretBasic(CLIENT_SECRET);
    else throw new Fail(`OIDC_CLIENT_AUTH must be client_secret_post or client_secret_basic, not ${CLIENT_AUTH}`);
    config = await client.discovery(new URL(ISSUER), CLIENT_ID, CLIENT_SECRET, clientAuth, {
      [client.customFetch]: tracedFetch,
      // http is only used on loopback; enableNonRepudiationChecks makes openid-client verify
      // every ID Token's JWS signature against jwks_uri (it does not by default for ID Tokens
      // received from the token endpoint).
      execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks],
    });
    config[client.customFetch] = tracedFetch;
    md = config.serverMetadata();
    // openid-client compares the issuer after URL normalisation; the contract (and OIDC
    // Discovery §4.3) wants it identical to the URL the client was configured with.
    check(md.issuer === ISSUER, `metadata issuer ${JSON.stringify(md.issuer)} is not exactly ${JSON.stringify(ISSUER)}`);
    check(md.authorization_response_iss_parameter_supported === true, 'metadata lacks authorization_response_iss_parameter_supported: true (RFC 9207 §3), so openid-client would not enforce the iss parameter');
    check(md.code_challenge_methods_supported?.includes('S256'), 'metadata code_challenge_methods_supported lacks S256 (RFC 8414 §2)');
    check(md.response_types_supported?.includes('code'), 'metadata response_types_supported lacks code');
    check(md.id_token_signing_alg_values_supported?.includes('RS256'), 'metadata id_token_signing_alg_values_supported lacks RS256 (OIDC Discovery §3)');
    check(md.token_endpoint_auth_methods_supported?.includes(CLIENT_AUTH), `metadata token_endpoint_auth_methods_supported lacks ${CLIENT_AUTH}`);
    for (const grant of ['authorization_code', 'refresh_token']) {
      check(md.grant_types_supported?.includes(grant), `metadata grant_types_supported lacks ${grant}`);
    }
    for (const ep of ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'userinfo_endpoint', 'revocation_endpoint']) {
      check(typeof md[ep] === 'string', `metadata has no ${ep}`);
    }
    jwks = jose.createRemoteJWKSet(new URL(md.jwks_uri), { [jose.customFetch]: tracedFetch });
    return `issuer ${md.issuer}, iss parameter advertised, S256, RS256`;
  });

  const codeVerifier = client.randomPKCECodeVerifier();
  const codeChallenge = await client.calculatePKCECodeChallenge(codeVerifier);
  const state = client.randomState();
  const nonce = client.randomNonce();
  const startedAt = Math.floor(Date.now() / 1000);
  const jar = new Map();
  let loginPage;
  let authorizeUrl;

  await step('authorization request (GET /authorize)', async () => {
    authorizeUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: SCOPE,
      code_challenge: codeChallenge,
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const res = await tracedFetch(authorizeUrl.href, { redirect: 'manual' });
    if (res.status >= 300 && res.status < 400) {
      throw new Fail(`expected the login page, got ${res.status} to ${res.headers.get('location')}`);
    }
    check(res.status === 200, `expected 200 with the login page, got ${res.status}`);
    check((res.headers.get('content-type') ?? '').startsWith('text/html'), `login page content-type is ${res.headers.get('content-type')}`);
    storeCookies(jar, res);
    loginPage = await res.text();
    return `200 login page, ${jar.size} cookie(s)`;
  });

  let callbackUrl;
  await step('login form (POST username/password)', async () => {
    const { action, body } = loginFormSubmission(loginPage, authorizeUrl);
    check(action.origin === new URL(ISSUER).origin, `the login form posts to another origin: ${action.href}`);
    const res = await tracedFetch(action.href, {
      method: 'POST',
      redirect: 'manual',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(jar.size ? { cookie: cookieHeader(jar) } : {}),
      },
      body: body.toString(),
    });
    if (res.status !== 303 && (res.headers.get('content-type') ?? '').startsWith('text/html')) {
      const page = parseHtml(await res.text());
      const alert = page.querySelector('[role="alert"], .error') ?? page.querySelector('body') ?? page;
      const text = alert.text.replace(/\s+/g, ' ').trim();
      throw new Fail(`login was refused with ${res.status} and an HTML page: ${shorten(text, 300)}`);
    }
    check(res.status === 303, `expected 303 after a successful login, got ${res.status}`);
    const location = res.headers.get('location');
    check(location, '303 without a Location header');
    callbackUrl = new URL(location); // absolute: the redirect URI is on another origin
    const registered = new URL(REDIRECT_URI);
    check(callbackUrl.origin === registered.origin && callbackUrl.pathname === registered.pathname,
      `redirected to ${callbackUrl.origin}${callbackUrl.pathname}, not to the redirect_uri ${REDIRECT_URI}`);
    const params = callbackUrl.searchParams;
    if (params.has('error')) {
      throw new Fail(`authorization error response: ${params.get('error')}: ${params.get('error_description') ?? ''}`, { location });
    }
    return `303 to redirect_uri with ${[...new Set(params.keys())].join(', ')}`;
  });

  let tokens;
  let idClaims;
  await step('authorization code grant (iss, state, PKCE, id_token)', async () => {
    tokens = await client.authorizationCodeGrant(config, callbackUrl, {
      pkceCodeVerifier: codeVerifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    // openid-client lower-cases token_type and only accepts bearer or dpop; we sent no DPoP proof.
    check(tokens.token_type === 'bearer', `token_type is ${tokens.token_type}, expected Bearer`);
    check(typeof tokens.access_token === 'string' && tokens.access_token.length > 0, 'no access_token');
    check(typeof tokens.refresh_token === 'string' && tokens.refresh_token.length > 0, 'no refresh_token');
    check(typeof tokens.id_token === 'string', 'no id_token although openid was requested');
    check(Number.isInteger(tokens.expires_in) && tokens.expires_in > 0, `expires_in is ${tokens.expires_in}`);
    if (tokens.scope !== undefined) {
      check(sameSet(scopeSet(tokens.scope), scopeSet(SCOPE)), `granted scope "${tokens.scope}" differs from the requested "${SCOPE}"`);
    }
    const tokenExchange = exchanges.slice(stepFirstExchange).find((x) => x.url === md.token_endpoint);
    const cacheControl = tokenExchange?.response_headers?.['cache-control'] ?? '';
    check(/\bno-store\b/i.test(cacheControl), `token response Cache-Control is "${cacheControl}", expected no-store (RFC 6749 §5.1)`);
    return `token_type Bearer, expires_in ${tokens.expires_in}, scope "${tokens.scope ?? '(omitted = requested)'}"`;
  });

  await step('id_token (signature via JWKS, iss, aud, nonce, auth_time, at_hash)', async () => {
    const libClaims = tokens.claims();
    const { header, claims } = await verifyIdToken(tokens.id_token, md, jwks, {
      accessToken: tokens.access_token,
      nonce,
      startedAt,
    });
    check(libClaims.sub === claims.sub && libClaims.nonce === nonce, 'openid-client claims() differ from the verified payload', { libClaims, claims });
    const now = Math.floor(Date.now() / 1000);
    check(Number.isInteger(claims.auth_time), 'id_token has no integer auth_time (required by the HTTP contract)', { claims });
    check(claims.auth_time >= startedAt - CLOCK_LEEWAY && claims.auth_time <= now + CLOCK_LEEWAY,
      `id_token auth_time ${claims.auth_time} is not the time of this login (${startedAt}..${now})`, { claims });
    idClaims = claims;
    return `RS256 kid ${header.kid}, sub ${claims.sub}, auth_time ${claims.auth_time}`;
  });

  await step('userinfo', async () => {
    const info = await client.fetchUserInfo(config, tokens.access_token, idClaims.sub);
    check(info.sub === idClaims.sub, 'userinfo sub differs from the id_token sub', { info });
    check(info.preferred_username === USERNAME, `userinfo preferred_username is ${JSON.stringify(info.preferred_username)}, expected ${JSON.stringify(USERNAME)}`, { info });
    check(typeof info.name === 'string' && info.name.length > 0, 'userinfo has no name although profile was granted', { info });
    check(typeof info.email === 'string' && info.email.includes('@'), 'userinfo has no email although email was granted', { info });
    if (EXPECTED_EMAIL) check(info.email === EXPECTED_EMAIL, `userinfo email is ${info.email}, expected ${EXPECTED_EMAIL}`, { info });
    check(typeof info.email_verified === 'boolean', 'userinfo has no boolean email_verified', { info });
    return `sub ${info.sub}, preferred_username ${info.preferred_username}, email ${info.email}`;
  });

  let refreshed;
  await step('refresh token grant (rotation)', async () => {
    refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
    check(refreshed.token_type === 'bearer', `token_type is ${refreshed.token_type}, expected Bearer`);
    check(typeof refreshed.access_token === 'string' && refreshed.access_token !== tokens.access_token, 'refresh returned no new access_token');
    check(typeof refreshed.refresh_token === 'string' && refreshed.refresh_token.length > 0, 'refresh returned no refresh_token (the contract rotates them)');
    check(refreshed.refresh_token !== tokens.refresh_token, 'refresh returned the same refresh_token');
    if (refreshed.scope !== undefined) {
      check(sameSet(scopeSet(refreshed.scope), scopeSet(SCOPE)), `refreshed scope "${refreshed.scope}" differs from the original "${SCOPE}"`);
    }
    let idNote = 'no id_token';
    if (refreshed.id_token !== undefined) {
      // OpenID Connect Core 1.0 §12.2
      const { claims } = await verifyIdToken(refreshed.id_token, md, jwks, { accessToken: refreshed.access_token, startedAt });
      check(claims.iss === idClaims.iss && claims.sub === idClaims.sub, 'refreshed id_token iss/sub differ from the original (OIDC Core §12.2)', { claims, idClaims });
      check(JSON.stringify(claims.aud) === JSON.stringify(idClaims.aud), 'refreshed id_token aud differs from the original (OIDC Core §12.2)', { claims, idClaims });
      check(claims.auth_time === undefined || claims.auth_time === idClaims.auth_time, 'refreshed id_token auth_time is not the original authentication time (OIDC Core §12.2)', { claims, idClaims });
      check(claims.nonce === undefined || claims.nonce === idClaims.nonce, 'refreshed id_token nonce differs from the original (OIDC Core §12.2)', { claims, idClaims });
      idNote = 'new id_token verified (OIDC Core §12.2)';
    }
    const info = await client.fetchUserInfo(config, refreshed.access_token, idClaims.sub);
    check(info.preferred_username === USERNAME, 'userinfo with the refreshed access token returned another user', { info });
    return `new access and refresh tokens, ${idNote}, userinfo works with the new access token`;
  });

  await step('revocation of the access token, then userinfo is 401', async () => {
    await client.tokenRevocation(config, refreshed.access_token, { token_type_hint: 'access_token' });
    let err;
    try {
      const info = await client.fetchUserInfo(config, refreshed.access_token, idClaims.sub);
      throw new Fail('userinfo still answers with a revoked access token', { info });
    } catch (e) {
      if (e instanceof Fail) throw e;
      err = e;
    }
    check(err instanceof client.WWWAuthenticateChallengeError && err.status === 401,
      'userinfo with a revoked token did not fail with 401 and a WWW-Authenticate challenge (RFC 6750 §3)', describeError(err));
    const bearer = err.cause.find((c) => c.scheme === 'bearer');
    check(bearer?.parameters?.error === 'invalid_token', 'the 401 challenge is not Bearer error="invalid_token" (RFC 6750 §3.1)', err.cause);
    return '200 from /revoke, then 401 Bearer error="invalid_token"';
  });

  await step('replayed refresh token is rejected', async () => {
    let err;
    try {
      const again = await client.refreshTokenGrant(config, tokens.refresh_token);
      throw new Fail('the already used refresh token was accepted again', { again });
    } catch (e) {
      if (e instanceof Fail) throw e;
      err = e;
    }
    check(err instanceof client.ResponseBodyError && err.status === 400 && err.error === 'invalid_grant',
      'replaying a used refresh token did not give 400 invalid_grant (RFC 6749 §5.2, RFC 9700 §4.14.2)', describeError(err));
    return '400 invalid_grant';
  });

  await step('replay revoked the rotated refresh token too', async () => {
    let err;
    try {
      const again = await client.refreshTokenGrant(config, refreshed.refresh_token);
      throw new Fail('after a replay, the newest refresh token of that family still works (RFC 9700 §4.14.2)', { again });
    } catch (e) {
      if (e instanceof Fail) throw e;
      err = e;
    }
    check(err instanceof client.ResponseBodyError && err.status === 400 && err.error === 'invalid_grant',
      'the rotated refresh token did not give 400 invalid_grant after the replay', describeError(err));
    return '400 invalid_grant';
  });

  console.log(`PASS: openid-client completed the flow against ${ISSUER}`);
}

try {
  await main();
} catch (err) {
  // openid-client wraps the specific reason (e.g. 'response parameter "iss" (issuer) missing')
  // in a generic ClientError: show the whole chain of messages.
  const messages = [];
  for (let e = err; e instanceof Error && messages.length < 5; e = e.cause) messages.push(e.message);
  console.error(`FAIL step ${stepNo} (${stepName}): ${messages.length ? messages.join(': ') : err}`);
  console.error(inspect(describeError(err), { depth: 8, breakLength: 120 }));
  const mine = exchanges.slice(stepFirstExchange);
  if (mine.length) {
    console.error(`HTTP exchanges of this step (${mine.length}):`);
    for (const x of mine) console.error(inspect(x, { depth: 4, breakLength: 120 }));
  }
  process.exit(1);
}
