//! Real-browser tests of the authorization code flow: the `/demo` client, the login page and the
//! consent page, clicked through by headless Chromium driven over WebDriver (chromedriver).
//! Each example server package runs them against its own binary (as
//! `examples/axum/tests/browser.rs` does):
//!
//! ```text
//! tokenward_browser::browser_suite!(env!("CARGO_BIN_EXE_tokenward-axum"));
//! ```
//!
//! They need `chromium` and `chromedriver` (Debian: `apt-get install chromium chromium-driver`),
//! so they are `#[ignore]`d: `cargo test -p tokenward-axum --test browser -- --ignored` runs
//! them, and fails if either is missing. `TOKENWARD_TEST_CHROMEDRIVER` and `TOKENWARD_TEST_CHROMIUM`
//! name other binaries than `chromedriver` on `PATH` and `/usr/bin/chromium`.
//!
//! Every test starts its own server process (own SQLite database), its own chromedriver and
//! Chromium with a fresh profile, and stops them all at the end, also when it fails.
//!
//! `TOKENWARD_SCREENSHOT=/abs/path.png` makes `demo_login_through_the_login_page` write its
//! screenshot of the login page there (how `docs/login-page.png` is made).

#![forbid(unsafe_code)]
#![allow(missing_docs, clippy::missing_panics_doc)]

pub mod cases;
pub mod driver;

/// Generates one `#[tokio::test]` per browser test against the server binary `$bin`.
#[macro_export]
macro_rules! browser_suite {
    ($bin:expr) => {
        $crate::browser_suite!(@each $bin;
            demo_login_through_the_login_page,
            wrong_password_shows_the_error,
            consent_page_for_a_third_party_client,
            login_through_another_server
        );
    };
    (@each $bin:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[ignore = "needs chromium and chromedriver (apt-get install chromium chromium-driver): run with --ignored"]
            async fn $case() {
                $crate::cases::$case(::std::path::Path::new($bin)).await
            }
        )*
    };
}
