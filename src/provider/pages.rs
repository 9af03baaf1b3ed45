//! The HTML pages of the authorization endpoint (login, consent, messages), rendered from
//! templates the library ships (`templates/`) and an application may replace, and answered with
//! the headers that keep them out of frames, caches and referrers.

use std::fmt;

use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, PRAGMA, REFERRER_POLICY};
use http::{Response, StatusCode};
use minijinja::Environment;
use serde::Serialize;

/// The templates an application may replace ([`Pages::with_template`]). Each extends
/// `base.html` in the shipped set; a replacement may or may not.
pub const TEMPLATE_NAMES: &[&str] = &[
    "base.html",
    "login.html",
    "consent.html",
    "logout.html",
    "message.html",
];

/// Every page forbids framing (clickjacking of the consent button), loads nothing from
/// elsewhere, and runs no script.
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'";

/// A template that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PageError {
    /// Not one of [`TEMPLATE_NAMES`].
    #[error("no template is called {0:?}")]
    UnknownTemplate(String),
    /// The template does not compile.
    #[error("template {name:?}: {message}")]
    Syntax {
        /// The template.
        name: String,
        /// What is wrong.
        message: String,
    },
}

/// The page templates. HTML-escaping is on for every template (their names end in `.html`).
#[derive(Clone)]
pub struct Pages {
    env: Environment<'static>,
}

impl fmt::Debug for Pages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pages").finish_non_exhaustive()
    }
}

impl Default for Pages {
    fn default() -> Self {
        let mut env = Environment::new();
        for (name, source) in [
            ("base.html", include_str!("../../templates/base.html")),
            ("login.html", include_str!("../../templates/login.html")),
            ("consent.html", include_str!("../../templates/consent.html")),
            ("logout.html", include_str!("../../templates/logout.html")),
            ("message.html", include_str!("../../templates/message.html")),
        ] {
            // The shipped templates are compiled by this crate's tests; a failure here would be
            // a build defect, and the page then renders as the plain fallback.
            if let Err(error) = env.add_template(name, source) {
                tracing::error!(template = name, %error, "shipped template does not compile");
            }
        }
        Self { env }
    }
}

impl Pages {
    /// The shipped templates.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces one template (see [`TEMPLATE_NAMES`] and the shipped ones in `templates/` for
    /// the variables each receives). Values are HTML-escaped automatically.
    pub fn with_template(mut self, name: &str, source: String) -> Result<Self, PageError> {
        if !TEMPLATE_NAMES.contains(&name) {
            return Err(PageError::UnknownTemplate(name.to_owned()));
        }
        self.env
            .add_template_owned(name.to_owned(), source)
            .map_err(|e| PageError::Syntax {
                name: name.to_owned(),
                message: e.to_string(),
            })?;
        Ok(self)
    }

    /// Renders `name` with `context` into an HTML response with the page security headers.
    pub(crate) fn render(
        &self,
        status: StatusCode,
        name: &str,
        context: impl Serialize,
    ) -> Response<Vec<u8>> {
        let body = self
            .env
            .get_template(name)
            .and_then(|template| template.render(context));
        match body {
            Ok(body) => html_response(status, body.into_bytes()),
            Err(error) => {
                tracing::error!(template = name, %error, "page template failed to render");
                html_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    b"<!doctype html><title>Error</title><p>This page cannot be shown.</p>"
                        .to_vec(),
                )
            }
        }
    }

    /// A page with a title and one message (errors, "logged out").
    pub(crate) fn message(
        &self,
        status: StatusCode,
        title: &str,
        message: &str,
    ) -> Response<Vec<u8>> {
        self.render(
            status,
            "message.html",
            minijinja::context! { title, message },
        )
    }
}

/// An HTML response with the headers every page carries.
pub fn html_response(status: StatusCode, body: Vec<u8>) -> Response<Vec<u8>> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}
