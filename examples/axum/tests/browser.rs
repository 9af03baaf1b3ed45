//! The login, consent and demo pages in a real browser (headless Chromium over WebDriver),
//! against this server's binary. Ignored by default: they need `chromium` and `chromedriver`
//! (`apt-get install chromium chromium-driver`); run them with
//! `cargo test -p tokenward-axum --test browser -- --ignored`.

tokenward_browser::browser_suite!(env!("CARGO_BIN_EXE_tokenward-axum"));
