//! The contract's "Clients" and "Authorization code flow with PKCE" sections, including the
//! attacks that broke real servers.

use std::path::Path;

use crate::client::{Client, Reply, decode_jwt, enc, tokens};
use crate::fixture::Fixture;
use crate::server::Server;
use crate::user_agent::{
    Clients, Pkce, UserAgent, WEB_REDIRECT, authorize_query, basic, hidden, location_params,
};

async fn start(bin: &Path, extra: &[&str]) -> (Fixture, Clients, Server) {
    let fixture = Fixture::new();
    let clients = Clients::write(&fixture.dir);
    let clients_file = fixture.dir.path("clients.json").display().to_string();
    let mut args = vec!["--clients", clients_file.as_str()];
    args.extend_from_slice(extra);
    let server = fixture.start(bin, &args).await;
    (fixture, clients, server)
}

/// The SPA's redirect URI on another loopback port (registered without one: any port).
const SPA_ON_PORT: &str = "http://127.0.0.1:54321/cb";

fn assert_page_headers(reply: &Reply) {
    assert_eq!(reply.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(reply.header("x-frame-options").as_deref(), Some("DENY"));
    let csp = reply.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("http"), "no third-party sources: {csp}");
    assert_eq!(
        reply.header("referrer-policy").as_deref(),
        Some("no-referrer")
    );
    assert!(
        reply
            .header("content-type")
            .unwrap_or_default()
            .starts_with("text/html")
    );
}

fn set_cookie(reply: &Reply, name: &str) -> String {
    reply
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no Set-Cookie {name}: {:?}", reply.headers))
        .to_owned()
}

/// Logs `username` in at `/authorize` for `spa` and returns the redirect's parameters.
async fn spa_code(
    agent: &UserAgent,
    username: &str,
    password: &str,
    pkce: &Pkce,
    scope: &str,
) -> std::collections::BTreeMap<String, String> {
    let page = agent
        .get(&authorize_query("spa", SPA_ON_PORT, scope, "st", pkce, ""))
        .await;
    if page.status == 303 {
        // Logged in already: straight back with a code.
        return location_params(&page);
    }
    assert_eq!(page.status, 200, "{}", page.text());
    let done = agent.log_in(&page, username, password).await;
    assert_eq!(done.status, 303, "{}", done.text());
    location_params(&done)
}

async fn exchange(client: &Client, code: &str, pkce: &Pkce, client_id: &str) -> Reply {
    client
        .form(
            "/token",
            &format!(
                "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={}&client_id={client_id}",
                enc(code),
                enc(SPA_ON_PORT),
                pkce.verifier
            ),
        )
        .await
}

pub async fn code_flow_with_pkce_for_a_public_client(bin: &Path) {
    let (fixture, _, server) = start(bin, &[]).await;
    let agent = UserAgent::new(&server);
    let client = Client::new(&server);
    let pkce = Pkce::new("public-client");
    let issuer = crate::fixture::ISSUER;

    // No session: the login page, with the page headers and the browser binding cookie.
    let page = agent
        .get(&authorize_query(
            "spa",
            SPA_ON_PORT,
            "items:read",
            "st",
            &pkce,
            "",
        ))
        .await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert_page_headers(&page);
    assert!(page.text().contains("Single Page"), "client named");
    let logged_in = agent
        .submit_login(&page, &fixture.alice.username, fixture.alice.password)
        .await;
    // The session cookie: HttpOnly, SameSite=Lax, Path=/, not Secure over http.
    let cookie = set_cookie(&logged_in, "tokenward_session");
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "{cookie}");
    // `spa` is public on a loopback URI: any app on the device could send its client_id, so
    // even first-party it is confirmed once per browser session (RFC 8252 §8.6), and until
    // then prompt=none is interaction_required.
    assert_eq!(logged_in.status, 200, "{}", logged_in.text());
    assert!(
        logged_in.text().contains("id=\"native-app\""),
        "{}",
        logged_in.text()
    );
    let silent = agent
        .get(&authorize_query(
            "spa",
            SPA_ON_PORT,
            "items:read",
            "st0",
            &pkce,
            "&prompt=none",
        ))
        .await;
    assert_eq!(location_params(&silent)["error"], "interaction_required");
    let done = agent.decide(&logged_in, "allow").await;
    assert_eq!(done.status, 303, "{}", done.text());
    let location = done.header("location").unwrap();
    assert!(
        location.starts_with("http://127.0.0.1:54321/cb?code="),
        "{location}"
    );
    let params = location_params(&done);
    assert_eq!(params["state"], "st");
    assert_eq!(params["iss"], issuer, "RFC 9207 iss");
    assert!(params["code"].len() >= 22, "at least 128 bits");

    let issued = tokens(exchange(&client, &params["code"], &pkce, "spa").await);
    assert_eq!(issued.body["token_type"], "Bearer");
    assert_eq!(issued.body["scope"], "items:read");
    let (_, claims) = decode_jwt(&issued.access);
    assert_eq!(claims["client_id"], "spa");
    assert_eq!(claims["iss"], issuer);
    assert_eq!(client.get("/items", &issued.access).await.status, 200);
    assert_eq!(client.get("/users/me", &issued.access).await.status, 200);

    // Refresh tokens are bound to the client.
    let without_client = client.refresh_grant(&issued.refresh, None).await;
    assert_eq!(without_client.status, 400);
    assert_eq!(without_client.error(), "invalid_grant");
    let refreshed = client
        .form(
            "/token",
            &format!(
                "grant_type=refresh_token&refresh_token={}&client_id=spa",
                issued.refresh
            ),
        )
        .await;
    let refreshed = tokens(refreshed);

    // With a live session: no page, straight back with a new code.
    let again = agent
        .get(&authorize_query(
            "spa",
            SPA_ON_PORT,
            "items:read",
            "st2",
            &pkce,
            "",
        ))
        .await;
    assert_eq!(again.status, 303, "{}", again.text());
    assert_eq!(location_params(&again)["state"], "st2");

    // prompt=login asks for the password again, and the new login gets a new session id.
    let first_session = agent.cookie("tokenward_session").unwrap();
    let page = agent
        .get(&authorize_query(
            "spa",
            SPA_ON_PORT,
            "items:read",
            "st3",
            &pkce,
            "&prompt=login",
        ))
        .await;
    assert_eq!(page.status, 200, "prompt=login shows the login page");
    let done = agent
        .log_in(&page, &fixture.alice.username, fixture.alice.password)
        .await;
    assert_eq!(done.status, 303);
    assert_ne!(agent.cookie("tokenward_session").unwrap(), first_session);

    // Logout without an id_token_hint asks first (a link on another site must not sign the
    // user out); the confirmed form ends the browser session: the login page again.
    let ask = agent.get("/logout").await;
    assert_eq!(ask.status, 200);
    assert_page_headers(&ask);
    assert!(
        agent.cookie("tokenward_session").is_some(),
        "asking ends nothing"
    );
    let forged = agent.post_form("/logout", &[("csrf", "forged")]).await;
    assert_eq!(
        forged.status, 200,
        "a forged confirmation gets the question again"
    );
    assert!(agent.cookie("tokenward_session").is_some());
    let bye = agent
        .post_form("/logout", &[("csrf", &hidden(&ask.text(), "csrf"))])
        .await;
    assert_eq!(bye.status, 200);
    assert_page_headers(&bye);
    assert!(agent.cookie("tokenward_session").is_none());
    let page = agent
        .get(&authorize_query(
            "spa",
            SPA_ON_PORT,
            "items:read",
            "st4",
            &pkce,
            "",
        ))
        .await;
    assert_eq!(page.status, 200, "logged out: the login page");
    // Tokens are not tied to the browser session.
    assert_eq!(client.get("/items", &refreshed.access).await.status, 200);
}

pub async fn unregistered_redirect_uris_get_a_page_not_a_redirect(bin: &Path) {
    let (_fixture, _, server) = start(bin, &[]).await;
    let agent = UserAgent::new(&server);
    let pkce = Pkce::new("redirects");
    let cases = [
        ("web", "https://app.example/cb?keep=1/../evil"),
        ("web", "https://app.example/cbx?keep=1"),
        ("web", "https://app.example/cb/evil?keep=1"),
        ("web", "https://APP.example/cb?keep=1"),
        ("web", "https://app.example/x/../cb?keep=1"),
        ("web", "https://app.example@evil.example/cb?keep=1"),
        ("web", "https://app.example/cb?keep=1&extra=2"),
        ("web", "https://app.example/cb"),
        ("web", "http://app.example/cb?keep=1"),
        ("web", "https://app.example/cb?keep=1#frag"),
        ("spa", "http://localhost/cb"),
        ("spa", "http://127.0.0.1:54321/cb/"),
        ("nobody", WEB_REDIRECT),
    ];
    for (client_id, uri) in cases {
        let reply = agent
            .get(&authorize_query(
                client_id,
                uri,
                "items:read",
                "st",
                &pkce,
                "",
            ))
            .await;
        assert_eq!(reply.status, 400, "{client_id} {uri}: {}", reply.text());
        assert!(
            reply.header("location").is_none(),
            "{client_id} {uri}: no redirect"
        );
        assert_page_headers(&reply);
    }
    // No redirect_uri at all, and a repeated client_id: a page too.
    let reply = agent
        .get(&format!(
            "/authorize?response_type=code&client_id=web&code_challenge={}&code_challenge_method=S256",
            pkce.challenge
        ))
        .await;
    assert_eq!(reply.status, 400);
    let reply = agent
        .get(&format!(
            "{}&client_id=web",
            authorize_query("web", WEB_REDIRECT, "items:read", "st", &pkce, "")
        ))
        .await;
    assert_eq!(reply.status, 400);
    assert!(reply.header("location").is_none());
}

pub async fn authorize_errors_redirect_with_state_and_iss(bin: &Path) {
    let (_fixture, _, server) = start(bin, &[]).await;
    let agent = UserAgent::new(&server);
    let pkce = Pkce::new("errors");
    let base = |extra: &str| {
        format!(
            "/authorize?response_type=code&client_id=web&redirect_uri={}&state=s%20t{extra}",
            enc(WEB_REDIRECT)
        )
    };
    let challenge = format!("&code_challenge={}", pkce.challenge);
    let cases = [
        (
            base("&code_challenge_method=S256"),
            "invalid_request",
            "no challenge",
        ),
        (base(&challenge), "invalid_request", "no method"),
        (
            base(&format!("{challenge}&code_challenge_method=plain")),
            "invalid_request",
            "plain",
        ),
        (
            base(&format!(
                "{challenge}&code_challenge_method=S256&scope=admin"
            )),
            "invalid_scope",
            "unknown scope",
        ),
        (
            base(&format!(
                "{challenge}&code_challenge_method=S256&scope=a&scope=b"
            )),
            "invalid_request",
            "repeated scope",
        ),
        (
            base(&format!(
                "{challenge}&code_challenge_method=S256&prompt=none"
            )),
            "login_required",
            "prompt=none without a session",
        ),
        (
            base(&format!("{challenge}&code_challenge_method=S256"))
                .replace("response_type=code", "response_type=token"),
            "unsupported_response_type",
            "implicit flow",
        ),
    ];
    for (query, error, why) in cases {
        let reply = agent.get(&query).await;
        assert_eq!(reply.status, 303, "{why}: {}", reply.text());
        let location = reply.header("location").unwrap();
        assert!(
            location.starts_with("https://app.example/cb?keep=1&"),
            "{why}: {location}"
        );
        let params = location_params(&reply);
        assert_eq!(params["error"], error, "{why}");
        assert_eq!(params["state"], "s t", "{why}");
        assert_eq!(params["iss"], crate::fixture::ISSUER, "{why}");
        assert_eq!(
            params["keep"], "1",
            "{why}: the redirect URI's own query is kept"
        );
    }
}

pub async fn code_exchange_attacks(bin: &Path) {
    let (fixture, clients, server) = start(bin, &[]).await;
    let agent = UserAgent::new(&server);
    let client = Client::new(&server);
    let pkce = Pkce::new("attacks");
    let user = (&fixture.alice.username, fixture.alice.password);

    // A wrong verifier fails and burns the code: the right one afterwards fails too.
    let params = spa_code(&agent, user.0, user.1, &pkce, "items:read").await;
    let wrong = Pkce::new("someone-else");
    let reply = client
        .form(
            "/token",
            &format!(
                "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={}&client_id=spa",
                enc(&params["code"]),
                enc(SPA_ON_PORT),
                wrong.verifier
            ),
        )
        .await;
    assert_eq!(
        (reply.status, reply.error().as_str()),
        (400, "invalid_grant")
    );
    let reply = exchange(&client, &params["code"], &pkce, "spa").await;
    assert_eq!(
        (reply.status, reply.error().as_str()),
        (400, "invalid_grant"),
        "burnt"
    );

    // PKCE downgrade: no verifier at all.
    let params = spa_code(&agent, user.0, user.1, &pkce, "items:read").await;
    let reply = client
        .form(
            "/token",
            &format!(
                "grant_type=authorization_code&code={}&redirect_uri={}&client_id=spa",
                enc(&params["code"]),
                enc(SPA_ON_PORT)
            ),
        )
        .await;
    assert_eq!(
        (reply.status, reply.error().as_str()),
        (400, "invalid_grant")
    );

    // Another redirect URI than the request's.
    let params = spa_code(&agent, user.0, user.1, &pkce, "items:read").await;
    let reply = client
        .form(
            "/token",
            &format!(
                "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={}&client_id=spa",
                enc(&params["code"]),
                enc("http://127.0.0.1:54322/cb"),
                pkce.verifier
            ),
        )
        .await;
    assert_eq!(
        (reply.status, reply.error().as_str()),
        (400, "invalid_grant")
    );

    // Another (authenticated) client.
    let params = spa_code(&agent, user.0, user.1, &pkce, "items:read").await;
    let reply = client
        .execute(
            client
                .request(reqwest::Method::POST, "/token")
                .header("authorization", basic("web", clients.web_secret))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!(
                    "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={}",
                    enc(&params["code"]),
                    enc(SPA_ON_PORT),
                    pkce.verifier
                )),
        )
        .await;
    assert_eq!(
        (reply.status, reply.error().as_str()),
        (400, "invalid_grant")
    );

    // A code used twice: the second use fails and revokes what the first produced.
    let params = spa_code(&agent, user.0, user.1, &pkce, "items:read").await;
    let first = tokens(exchange(&client, &params["code"], &pkce, "spa").await);
    assert_eq!(client.get("/items", &first.access).await.status, 200);
    let replay = exchange(&client, &params["code"], &pkce, "spa").await;
    assert_eq!(
        (replay.status, replay.error().as_str()),
        (400, "invalid_grant")
    );
    assert_eq!(
        client.get("/items", &first.access).await.status,
        401,
        "revoked"
    );
    let refresh = client
        .form(
            "/token",
            &format!(
                "grant_type=refresh_token&refresh_token={}&client_id=spa",
                first.refresh
            ),
        )
        .await;
    assert_eq!(refresh.error(), "invalid_grant", "the family is revoked");

    // Garbage and unknown codes.
    for code in ["", "x", &"A".repeat(43)] {
        let reply = exchange(&client, code, &pkce, "spa").await;
        assert_eq!(reply.status, 400, "{code:?}");
    }

    // A public client cannot pretend to be a confidential one, nor skip its id.
    let params = spa_code(&agent, user.0, user.1, &pkce, "items:read").await;
    let reply = exchange(&client, &params["code"], &pkce, "web").await;
    assert_eq!(
        (reply.status, reply.error().as_str()),
        (401, "invalid_client")
    );
}

pub async fn login_form_csrf_throttling_and_failures(bin: &Path) {
    let (fixture, _, server) = start(bin, &["--max-failed-logins", "3"]).await;
    let pkce = Pkce::new("csrf");
    let query = authorize_query("spa", SPA_ON_PORT, "items:read", "st", &pkce, "");
    let victim = UserAgent::new(&server);
    let attacker = UserAgent::new(&server);

    // Login CSRF: the attacker's own form, submitted from the victim's browser, is refused.
    let attacker_page = attacker.get(&query).await;
    let _victim_page = victim.get(&query).await;
    let forged = victim
        .log_in(
            &attacker_page,
            &fixture.dave.username,
            fixture.dave.password,
        )
        .await;
    assert_eq!(forged.status, 400, "{}", forged.text());
    assert!(forged.header("location").is_none());
    assert!(victim.cookie("tokenward_session").is_none());

    // A form post without the pending request's token.
    let page = victim.get(&query).await;
    let pending = crate::user_agent::hidden(&page.text(), "pending");
    let reply = victim
        .post_form(
            "/authorize/login",
            &[
                ("pending", &pending),
                ("username", &fixture.dave.username),
                ("password", fixture.dave.password),
            ],
        )
        .await;
    assert_eq!(reply.status, 400);
    assert!(victim.cookie("tokenward_session").is_none());

    // A wrong password re-shows the page with one generic message; so does an unknown user.
    let page = victim.get(&query).await;
    let wrong = victim
        .log_in(&page, &fixture.dave.username, "not the password")
        .await;
    assert_eq!(wrong.status, 400);
    assert_page_headers(&wrong);
    let unknown = victim.log_in(&wrong, "no-such-user-here", "whatever").await;
    let message = |reply: &Reply| {
        let html = reply.text();
        let start = html.find("id=\"login-error\">").expect("error shown") + 17;
        html[start..start + html[start..].find('<').unwrap()].to_owned()
    };
    assert_eq!(message(&wrong), message(&unknown), "one generic message");
    // The disabled user gets the same message.
    let disabled = victim
        .log_in(&unknown, &fixture.carol.username, fixture.carol.password)
        .await;
    assert_eq!(message(&disabled), message(&wrong));

    // The form's failures count in the /token throttle.
    let mut page = victim.get(&query).await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        page = victim
            .log_in(&page, &fixture.dave.username, "wrong again")
            .await;
        statuses.push(page.status);
    }
    assert_eq!(*statuses.last().unwrap(), 429, "{statuses:?}");
    assert!(page.header("retry-after").is_some());
    let client = Client::new(&server);
    let token = client
        .password_grant(&fixture.dave.username, fixture.dave.password, None)
        .await;
    assert_eq!(token.status, 429, "the same throttle at /token");
}

pub async fn consent_for_third_party_clients(bin: &Path) {
    let (fixture, clients, server) = start(bin, &[]).await;
    let agent = UserAgent::new(&server);
    let client = Client::new(&server);
    let pkce = Pkce::new("consent");
    let query = |state: &str, extra: &str| {
        authorize_query("web", WEB_REDIRECT, "items:read", state, &pkce, extra)
    };

    let page = agent.get(&query("s1", "")).await;
    let consent = agent
        .log_in(&page, &fixture.alice.username, fixture.alice.password)
        .await;
    assert_eq!(consent.status, 200, "a consent page: {}", consent.text());
    assert_page_headers(&consent);
    assert!(consent.text().contains("items:read") && consent.text().contains("Web App"));

    // prompt=none while consent is missing.
    let none = agent.get(&query("s0", "&prompt=none")).await;
    assert_eq!(location_params(&none)["error"], "consent_required");

    // Deny: access_denied with state and iss.
    let denied = agent.decide(&consent, "deny").await;
    assert_eq!(denied.status, 303);
    let params = location_params(&denied);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], "s1");
    assert_eq!(params["iss"], crate::fixture::ISSUER);

    // Allow, then exchange with client_secret_basic (secret with %, + and spaces).
    let consent = agent.get(&query("s2", "")).await;
    assert_eq!(consent.status, 200, "still no consent: the page again");
    let allowed = agent.decide(&consent, "allow").await;
    assert_eq!(allowed.status, 303, "{}", allowed.text());
    let params = location_params(&allowed);
    assert_eq!(params["state"], "s2");
    assert_eq!(params["keep"], "1");
    let body = format!(
        "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={}",
        enc(&params["code"]),
        enc(WEB_REDIRECT),
        pkce.verifier
    );
    let wrong_secret = client
        .execute(
            client
                .request(reqwest::Method::POST, "/token")
                .header("authorization", basic("web", "wrong"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.clone()),
        )
        .await;
    assert_eq!(wrong_secret.status, 401);
    assert_eq!(wrong_secret.error(), "invalid_client");
    assert!(
        wrong_secret
            .header("www-authenticate")
            .unwrap_or_default()
            .starts_with("Basic")
    );
    let issued = client
        .execute(
            client
                .request(reqwest::Method::POST, "/token")
                .header("authorization", basic("web", clients.web_secret))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body),
        )
        .await;
    let issued = tokens(issued);
    assert_eq!(decode_jwt(&issued.access).1["client_id"], "web");

    // Consent is remembered for this user, client and scope set; prompt=consent asks again.
    let again = agent.get(&query("s3", "")).await;
    assert_eq!(again.status, 303, "no page the second time");
    assert!(location_params(&again).contains_key("code"));
    let asked = agent.get(&query("s4", "&prompt=consent")).await;
    assert_eq!(asked.status, 200);
    // A wider scope set needs consent again.
    let wider = agent
        .get(&authorize_query(
            "web",
            WEB_REDIRECT,
            "items:read items:write",
            "s5",
            &pkce,
            "",
        ))
        .await;
    assert_eq!(wider.status, 200, "new scopes: the consent page");

    // Nothing grantable is an error, not a code without consent: dave lacks items:write.
    let dave = UserAgent::new(&server);
    let page = dave
        .get(&authorize_query(
            "web",
            WEB_REDIRECT,
            "items:write",
            "s6",
            &pkce,
            "",
        ))
        .await;
    let refused = dave
        .log_in(&page, &fixture.dave.username, fixture.dave.password)
        .await;
    assert_eq!(refused.status, 303, "{}", refused.text());
    let params = location_params(&refused);
    assert_eq!(params["error"], "invalid_scope");
    assert!(!params.contains_key("code"));
    let silent = dave
        .get(&authorize_query(
            "web",
            WEB_REDIRECT,
            "items:write",
            "s7",
            &pkce,
            "&prompt=none",
        ))
        .await;
    assert_eq!(location_params(&silent)["error"], "invalid_scope");

    // Refresh with client_secret_post; the secret in the form this time.
    let refreshed = client
        .form(
            "/token",
            &format!(
                "grant_type=refresh_token&refresh_token={}&client_id=web&client_secret={}",
                issued.refresh,
                enc(clients.web_secret)
            ),
        )
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.text());
    // Both methods at once: refused.
    let both = client
        .execute(
            client
                .request(reqwest::Method::POST, "/token")
                .header("authorization", basic("web", clients.web_secret))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!(
                    "grant_type=client_credentials&client_id=web&client_secret={}",
                    enc(clients.web_secret)
                )),
        )
        .await;
    assert_eq!(both.status, 400, "{}", both.text());
}

pub async fn client_credentials_and_introspection(bin: &Path) {
    // `service` is the resource server: it may ask about any token.
    let (fixture, clients, server) = start(bin, &["--resource-server", "service"]).await;
    let client = Client::new(&server);
    let with_basic = |id: &str, secret: &str, body: &str| {
        client
            .request(reqwest::Method::POST, "/token")
            .header("authorization", basic(id, secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_owned())
    };
    let reply = client
        .execute(with_basic(
            "service",
            clients.service_secret,
            "grant_type=client_credentials",
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let body = reply.json();
    assert!(body.get("refresh_token").is_none(), "no refresh token");
    assert_eq!(body["scope"], "items:read");
    let access = body["access_token"].as_str().unwrap().to_owned();
    let (header, claims) = decode_jwt(&access);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(claims["sub"], "service");
    assert_eq!(claims["client_id"], "service");
    assert_eq!(client.get("/items", &access).await.status, 200);
    assert_eq!(
        client.get("/users/me", &access).await.status,
        401,
        "not a user"
    );

    // Wrong secret, unknown client, a public client, a wider scope, a client without the grant.
    let wrong = client
        .execute(with_basic(
            "service",
            "nope",
            "grant_type=client_credentials",
        ))
        .await;
    assert_eq!(
        (wrong.status, wrong.error().as_str()),
        (401, "invalid_client")
    );
    assert!(
        wrong
            .header("www-authenticate")
            .unwrap_or_default()
            .starts_with("Basic")
    );
    let unknown = client
        .execute(with_basic(
            "nobody",
            "nope",
            "grant_type=client_credentials",
        ))
        .await;
    assert_eq!(unknown.status, 401);
    let public = client
        .form("/token", "grant_type=client_credentials&client_id=spa")
        .await;
    assert_eq!(
        (public.status, public.error().as_str()),
        (401, "invalid_client")
    );
    let post = client
        .form(
            "/token",
            &format!(
                "grant_type=client_credentials&client_id=service&client_secret={}&scope=items%3Awrite",
                enc(clients.service_secret)
            ),
        )
        .await;
    assert_eq!(post.error(), "invalid_scope");
    let malformed = client
        .execute(
            client
                .request(reqwest::Method::POST, "/token")
                .header("authorization", "Basic !!!")
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=client_credentials"),
        )
        .await;
    assert_eq!(malformed.status, 401);

    // Introspection: confidential clients only.
    let introspect = |id: &str, secret: &str, token: &str| {
        client
            .request(reqwest::Method::POST, "/introspect")
            .header("authorization", basic(id, secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={}", enc(token)))
    };
    let anonymous = client.form("/introspect", &format!("token={access}")).await;
    assert_eq!(anonymous.status, 401);
    let public = client
        .form("/introspect", &format!("token={access}&client_id=spa"))
        .await;
    assert_eq!(public.status, 401);
    // Another client learns nothing about the service's token (RFC 7662 §4).
    let foreign = client
        .execute(introspect("web", clients.web_secret, &access))
        .await;
    assert_eq!(foreign.status, 200, "{}", foreign.text());
    assert_eq!(foreign.json(), serde_json::json!({"active": false}));
    let active = client
        .execute(introspect("service", clients.service_secret, &access))
        .await;
    assert_eq!(active.status, 200, "{}", active.text());
    let answer = active.json();
    assert_eq!(answer["active"], true);
    for field in [
        "scope",
        "client_id",
        "token_type",
        "exp",
        "iat",
        "nbf",
        "sub",
        "aud",
        "iss",
        "jti",
    ] {
        assert!(answer.get(field).is_some(), "{field} in {answer}");
    }
    // A user's token names the username, to the resource server only.
    let user_tokens = client.login(&fixture.alice).await;
    let answer = client
        .execute(introspect(
            "service",
            clients.service_secret,
            &user_tokens.access,
        ))
        .await
        .json();
    assert_eq!(answer["active"], true);
    assert_eq!(answer["username"], fixture.alice.username.as_str());
    let answer = client
        .execute(introspect("web", clients.web_secret, &user_tokens.access))
        .await
        .json();
    assert_eq!(answer, serde_json::json!({"active": false}));
    // Garbage, revoked, and a refresh token of another client: exactly {"active": false}.
    client
        .form("/revoke", &format!("token={}", user_tokens.access))
        .await;
    for token in [
        "garbage",
        user_tokens.access.as_str(),
        user_tokens.refresh.as_str(),
    ] {
        let reply = client
            .execute(introspect("service", clients.service_secret, token))
            .await;
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply.json(),
            serde_json::json!({"active": false}),
            "{token:.12}"
        );
    }
}

pub async fn password_grant_off_leaves_the_code_flow(bin: &Path) {
    let (fixture, _, server) = start(bin, &["--password-grant", "off"]).await;
    let client = Client::new(&server);
    let reply = client
        .password_grant(&fixture.alice.username, fixture.alice.password, None)
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.error(), "unsupported_grant_type");
    let agent = UserAgent::new(&server);
    let pkce = Pkce::new("no-password-grant");
    let params = spa_code(
        &agent,
        &fixture.alice.username,
        fixture.alice.password,
        &pkce,
        "items:read",
    )
    .await;
    tokens(exchange(&client, &params["code"], &pkce, "spa").await);
}

pub async fn clients_file_is_insert_if_absent_and_demo_client(bin: &Path) {
    // Without --clients and with no client: the demo client and /demo.
    let fixture = Fixture::new();
    let server = Server::start(
        bin,
        &["--database-url".to_owned(), fixture.dir.sqlite_url()],
    )
    .await;
    let agent = UserAgent::new(&server);
    let demo = agent.get("/demo").await;
    assert_eq!(demo.status, 200);
    assert_page_headers(&demo);
    let html = demo.text();
    let start = html.find("id=\"login\" href=\"").expect("a login link") + 17;
    let href = html[start..start + html[start..].find('"').unwrap()]
        .replace("&amp;", "&")
        .replace("&#x2f;", "/");
    let path = href
        .strip_prefix(&server.base)
        .unwrap_or_else(|| panic!("link to this server: {href}"))
        .to_owned();
    let login = agent.get(&path).await;
    assert_eq!(login.status, 200, "{}", login.text());
    let password = server.demo_password().expect("demo password printed");
    let back = agent.log_in(&login, "johndoe", &password).await;
    assert_eq!(back.status, 303);
    let location = back.header("location").unwrap();
    let callback = location
        .strip_prefix(&server.base)
        .expect("to /demo/callback");
    let shown = agent.get(callback).await;
    assert_eq!(shown.status, 200, "{}", shown.text());
    assert!(
        shown
            .text()
            .contains("&quot;client_id&quot;: &quot;demo&quot;"),
        "{}",
        shown.text()
    );
    server.terminate().await;

    // A clients file only inserts: a restart with a changed file leaves the stored client.
    let clients = Clients::write(&fixture.dir);
    let path = fixture.dir.path("clients.json");
    let args = |path: &std::path::Path| {
        vec![
            "--database-url".to_owned(),
            fixture.dir.sqlite_url(),
            "--clients".to_owned(),
            path.display().to_string(),
        ]
    };
    let server = Server::start(bin, &args(&path)).await;
    server.terminate().await;
    let original = std::fs::read_to_string(&path).unwrap();
    let text = original.replace(
        r#""name":"Service","scopes":["items:read"]"#,
        r#""name":"Service","scopes":["items:write"]"#,
    );
    assert_ne!(text, original, "the file was changed");
    let changed = fixture.dir.path("clients-changed.json");
    std::fs::write(&changed, text).unwrap();
    let server = Server::start(bin, &args(&changed)).await;
    let client = Client::new(&server);
    let reply = client
        .execute(
            client
                .request(reqwest::Method::POST, "/token")
                .header("authorization", basic("service", clients.service_secret))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=client_credentials"),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.json()["scope"],
        "items:read",
        "the stored client was left as it was"
    );
    // A bad clients file stops the start with one line naming it.
    std::fs::write(fixture.dir.path("bad.json"), r#"[{"client_id": "x", "redirect_uris": ["http://evil.example/cb"], "grant_types": ["authorization_code"]}]"#).unwrap();
    let exit = Server::refused(bin, &args(&fixture.dir.path("bad.json"))).await;
    assert_eq!(exit.code, Some(2));
    assert!(exit.stderr.contains("--clients"), "{}", exit.stderr);
}
