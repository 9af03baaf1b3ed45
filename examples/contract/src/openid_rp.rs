//! An independent relying party: the `openidconnect` crate (4.x) does discovery, the code flow
//! with PKCE, id_token verification (signature from the JWKS, `iss`, `aud`, `exp`, `nonce`,
//! `at_hash`), userinfo, refresh and revocation against the server. The Python (Authlib) and
//! JavaScript (openid-client) relying parties run from `.ci/run` (`scripts/oidc-interop.sh`).

use std::path::Path;

use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClient, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreResponseMode, CoreResponseType, CoreRevocableToken, CoreSubjectIdentifierType,
    CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AdditionalProviderMetadata, AuthenticationFlow, AuthorizationCode, ClientId,
    ClientSecret, CsrfToken, HttpRequest, HttpResponse, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, ProviderMetadata, RedirectUrl, RevocationUrl, Scope, TokenResponse,
};
use serde::{Deserialize, Serialize};

use crate::fixture::{Fixture, ISSUER};
use crate::user_agent::{Clients, UserAgent, WEB_REDIRECT, basic, location_params};

#[derive(Clone, Debug, Deserialize, Serialize)]
struct RevocationEndpoint {
    revocation_endpoint: String,
}
impl AdditionalProviderMetadata for RevocationEndpoint {}

type Metadata = ProviderMetadata<
    RevocationEndpoint,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

pub async fn openidconnect_crate_completes_the_flow(bin: &Path) {
    let fixture = Fixture::new();
    let secrets = Clients::write(&fixture.dir);
    let clients_file = fixture.dir.path("clients.json").display().to_string();
    let server = fixture
        .start(bin, &["--clients", clients_file.as_str()])
        .await;

    // The fixture's issuer is `http://tokenward.test`; requests to it go to this server, as a
    // DNS entry would send them. Redirects are not followed (openidconnect's advice: SSRF).
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = server.base.clone();
    let send = move |request: HttpRequest| {
        let http = http.clone();
        let url = request.uri().to_string().replacen(ISSUER, &base, 1);
        async move {
            let response = http
                .request(request.method().clone(), url)
                .headers(request.headers().clone())
                .body(request.into_body())
                .send()
                .await?;
            let status = response.status();
            let headers = response.headers().clone();
            let mut answer = HttpResponse::new(response.bytes().await?.to_vec());
            *answer.status_mut() = status;
            *answer.headers_mut() = headers;
            Ok::<_, reqwest::Error>(answer)
        }
    };

    let metadata = Metadata::discover_async(IssuerUrl::new(ISSUER.into()).unwrap(), &send)
        .await
        .expect("discovery");
    let revocation = metadata.additional_metadata().revocation_endpoint.clone();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new("web".into()),
        Some(ClientSecret::new(secrets.web_secret.into())),
    )
    .set_redirect_uri(RedirectUrl::new(WEB_REDIRECT.into()).unwrap())
    .set_revocation_url(RevocationUrl::new(revocation).unwrap());

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("items:read".into()))
        .set_pkce_challenge(challenge)
        .url();

    // The user: the login page, then (a third-party client) the consent page.
    let agent = UserAgent::new(&server);
    let path = url
        .as_str()
        .strip_prefix(ISSUER)
        .expect("authorize under the issuer");
    let page = agent.get(path).await;
    assert_eq!(page.status, 200, "{}", page.text());
    let consent = agent
        .log_in(&page, &fixture.alice.username, fixture.alice.password)
        .await;
    assert_eq!(consent.status, 200, "consent page: {}", consent.text());
    let done = agent.decide(&consent, "allow").await;
    assert_eq!(done.status, 303, "{}", done.text());
    let params = location_params(&done);
    assert_eq!(&params["state"], state.secret());
    assert_eq!(params["iss"], ISSUER);

    let tokens = client
        .exchange_code(AuthorizationCode::new(params["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&send)
        .await
        .expect("code exchange");
    let id_token = tokens.id_token().expect("an id_token");
    let id_verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&id_verifier, &nonce)
        .expect("the id_token verifies");
    assert_eq!(claims.issuer().as_str(), ISSUER);
    assert!(claims.auth_time().is_some());
    let expected_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&id_verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected_hash));

    let info: CoreUserInfoClaims = client
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )
        .unwrap()
        .request_async(&send)
        .await
        .expect("userinfo");
    assert_eq!(
        info.preferred_username().map(|u| u.as_str()),
        Some(fixture.alice.username.as_str())
    );
    assert_eq!(info.email().map(|e| e.as_str()), Some("alice@example.com"));

    // Refresh: a new pair; the spent refresh token is refused.
    let refresh = tokens.refresh_token().expect("a refresh token").clone();
    let refreshed = client
        .exchange_refresh_token(&refresh)
        .unwrap()
        .request_async(&send)
        .await
        .expect("refresh");
    assert_ne!(
        refreshed.refresh_token().map(|t| t.secret()),
        Some(refresh.secret())
    );
    assert!(
        client
            .exchange_refresh_token(&refresh)
            .unwrap()
            .request_async(&send)
            .await
            .is_err(),
        "a refresh token is single use"
    );

    // Revocation (RFC 7009): the access token stops working at userinfo. openidconnect refuses
    // to revoke over http (RFC 7009 §2 requires TLS) and the fixture's issuer is http, so the
    // request goes out as the crate would send it: a form with client_secret_basic.
    assert!(matches!(
        client.revoke_token(CoreRevocableToken::from(refreshed.access_token().clone())),
        Err(openidconnect::ConfigurationError::InsecureUrl(_))
    ));
    let access = refreshed.access_token().clone();
    let plain = crate::client::Client::new(&server);
    let revoked = plain
        .execute(
            plain
                .request(reqwest::Method::POST, "/revoke")
                .header("authorization", basic("web", secrets.web_secret))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!(
                    "token={}&token_type_hint=access_token",
                    access.secret()
                )),
        )
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text());
    let after: Result<CoreUserInfoClaims, _> = client
        .user_info(access, None)
        .unwrap()
        .request_async(&send)
        .await;
    assert!(after.is_err(), "a revoked token gets no userinfo");
}
