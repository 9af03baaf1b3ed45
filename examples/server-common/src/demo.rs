//! `/demo`: the code flow with PKCE seen from the client, in the same process, so a newcomer
//! can click through it. `GET /demo` starts it (a PKCE verifier and `state` kept in a cookie of
//! this browser), `GET /demo/callback` checks `state` and `iss`, exchanges the code at the token
//! endpoint and shows the access token's claims.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cookie::{Cookie, SameSite};
use http::header::{COOKIE, HeaderValue, SET_COOKIE};
use http::{HeaderMap, StatusCode};
use minijinja::{Environment, context};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::api::{App, HttpResponse};
use crate::startup::{DEMO_CALLBACK_PATH, DEMO_CLIENT};

const COOKIE_NAME: &str = "tokenward_demo";

const PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tokenward demo</title>
<style>body{font-family:system-ui,sans-serif;max-width:48rem;margin:3rem auto;padding:0 1rem}
pre{background:#f4f5f7;padding:1rem;overflow:auto}.error{color:#8a1c12}</style></head>
<body>
<h1>tokenward demo client</h1>
{% if start %}
<p>This page is an OAuth client of this server. The link starts the authorization code flow
with PKCE (S256); log in with the demo user's password printed at start-up.</p>
<p><a id="login" href="{{ start }}">Log in</a></p>
{% elif error %}
<p class="error" id="error">{{ error }}</p>
<p><a href="/demo">Start again</a></p>
{% else %}
<p id="welcome">Logged in. The token endpoint answered with scope <code id="scope">{{ scope }}</code>;
the access token's claims:</p>
<pre id="claims">{{ claims }}</pre>
<p><a href="/logout">Log out of the server</a> &middot; <a href="/demo">Again</a></p>
{% endif %}
</body></html>
"#;

fn random() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn page(status: StatusCode, context: minijinja::Value) -> HttpResponse {
    let mut env = Environment::new();
    let body = env
        .add_template("demo.html", PAGE)
        .and_then(|()| env.get_template("demo.html"))
        .and_then(|template| template.render(context))
        .unwrap_or_else(|_| "demo page failed to render".into());
    tokenward::provider::html_response(status, body.into_bytes())
}

fn redirect_uri(app: &App) -> String {
    format!("{}{DEMO_CALLBACK_PATH}", app.server().issuer_url())
}

fn demo_cookie(app: &App, value: &str, max_age_secs: i64) -> Option<HeaderValue> {
    let cookie = Cookie::build((COOKIE_NAME, value.to_owned()))
        .secure(app.server().issuer_url().starts_with("https://"))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/demo")
        .max_age(cookie::time::Duration::seconds(max_age_secs));
    HeaderValue::from_str(&cookie.build().to_string()).ok()
}

/// `GET /demo`: a "Log in" link to `/authorize` with a fresh PKCE challenge and `state`.
pub fn start(app: &App) -> HttpResponse {
    let verifier = random();
    let state = random();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let mut url = match url::Url::parse(&format!("{}/authorize", app.server().issuer_url())) {
        Ok(url) => url,
        Err(_) => {
            return page(
                StatusCode::INTERNAL_SERVER_ERROR,
                context! { error => "bad issuer URL" },
            );
        }
    };
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", DEMO_CLIENT)
        .append_pair("redirect_uri", &redirect_uri(app))
        .append_pair("scope", "items:read")
        .append_pair("state", &state)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let mut response = page(StatusCode::OK, context! { start => url.as_str() });
    if let Some(cookie) = demo_cookie(app, &format!("{state}.{verifier}"), 600) {
        response.headers_mut().insert(SET_COOKIE, cookie);
    }
    response
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == COOKIE_NAME)
        .map(|c| c.value().to_owned())
}

/// `GET /demo/callback?code&state&iss` (or `?error&state&iss`).
pub async fn callback(app: &App, headers: &HeaderMap, query: &str) -> HttpResponse {
    let mut response = match exchange(app, headers, query).await {
        Ok((scope, claims)) => page(StatusCode::OK, context! { scope, claims }),
        Err(error) => page(StatusCode::BAD_REQUEST, context! { error }),
    };
    if let Some(clear) = demo_cookie(app, "", 0) {
        response.headers_mut().insert(SET_COOKIE, clear);
    }
    response
}

async fn exchange(app: &App, headers: &HeaderMap, query: &str) -> Result<(String, String), String> {
    let param = |name: &str| {
        form_urlencoded::parse(query.as_bytes())
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.into_owned())
    };
    let (state, verifier) = cookie_value(headers)
        .and_then(|v| v.split_once('.').map(|(s, v)| (s.to_owned(), v.to_owned())))
        .ok_or("This browser did not start a login at /demo (no demo cookie).")?;
    let sent_state = param("state").unwrap_or_default();
    if !bool::from(sent_state.as_bytes().ct_eq(state.as_bytes())) {
        return Err("The state parameter does not match this browser's login: refused.".into());
    }
    // RFC 9207: the response must come from the server the flow was started at.
    if param("iss").as_deref() != Some(app.server().issuer_url()) {
        return Err("The iss parameter does not name this server: refused.".into());
    }
    if let Some(error) = param("error") {
        return Err(format!("The server answered {error}."));
    }
    let code = param("code").ok_or("No code in the callback.")?;
    let body: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", &code)
        .append_pair("redirect_uri", &redirect_uri(app))
        .append_pair("code_verifier", &verifier)
        .append_pair("client_id", DEMO_CLIENT)
        .finish();
    let mut form_headers = HeaderMap::new();
    form_headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    let answer = app
        .server()
        .token(
            std::net::Ipv4Addr::LOCALHOST.into(),
            &form_headers,
            body.as_bytes(),
        )
        .await;
    let json: serde_json::Value = serde_json::from_slice(answer.body())
        .map_err(|_| "The token endpoint did not answer JSON.")?;
    let Some(access_token) = json.get("access_token").and_then(|v| v.as_str()) else {
        let error = json
            .get("error")
            .and_then(|v| v.as_str())
            .unwrap_or("no error code");
        return Err(format!("The token endpoint refused the code: {error}."));
    };
    let claims = app
        .issuer()
        .validate(access_token)
        .await
        .map_err(|e| format!("The access token does not validate: {e}"))?;
    let pretty = serde_json::to_string_pretty(claims.claims()).unwrap_or_default();
    let scope = json
        .get("scope")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned();
    Ok((scope, pretty))
}
