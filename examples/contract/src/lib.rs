//! Black-box tests of the servers' API (`docs/API.md`). Each example server package runs them against
//! its own binary (as `examples/axum/tests/contract.rs` does):
//!
//! ```text
//! tokenward_contract::contract_suite!(env!("CARGO_BIN_EXE_tokenward-axum"));
//! ```
//!
//! Every clause starts its own server process on a free port with its own SQLite database, so
//! the tests run in parallel. The clauses that need PostgreSQL and Redis (two processes sharing
//! them) or a `redis-server` to start and stop are `#[ignore]`d, so a plain `cargo test` reports
//! them as ignored rather than passed; `cargo test -- --ignored` runs them and fails if what
//! they need is missing.

#![forbid(unsafe_code)]
#![allow(missing_docs, clippy::missing_panics_doc)]

pub mod account_access;
pub mod clauses;
pub mod client;
pub mod code_flow;
mod error_shapes;
pub mod fixture;
pub mod hostile_clients;
pub mod login_limits;
pub mod openid;
pub mod openid_rp;
pub mod operations;
pub mod password_grant;
pub mod protected_routes;
pub mod refresh_rotation;
pub mod revocation;
pub mod server;
pub mod shared_stores;
pub mod startup;
pub mod upstream;
pub mod user_agent;

/// Generates one `#[tokio::test]` per contract clause against the server binary `$bin`.
#[macro_export]
macro_rules! contract_suite {
    ($bin:expr) => {
        $crate::contract_suite!(@each $bin;
            demo_user_on_first_start_and_keys_kept_across_restarts,
            password_grant_response_shape,
            scope_grants_narrowing_and_widening,
            bad_credentials_are_indistinguishable,
            malformed_token_requests,
            refresh_rotation_and_replay_revokes_the_family,
            concurrent_refreshes_exactly_one_wins,
            access_and_refresh_tokens_are_not_interchangeable,
            throttling_after_failed_logins,
            legacy_hash_is_upgraded_on_login,
            revocation_endpoint,
            bearer_errors_and_scopes,
            forged_and_misissued_tokens_are_rejected,
            disabled_user_loses_access,
            users_me_and_items,
            third_party_tokens_reach_the_account_only_by_scope,
            password_change_cuts_off_earlier_tokens,
            logout_all_cuts_off_every_token,
            jwks_publishes_public_keys_only,
            health_unknown_paths_and_methods,
            hostile_input_never_yields_5xx,
            slow_body_is_cut_off,
            startup_errors_exit_2_with_one_line,
            graceful_shutdown_on_sigterm,
            concurrent_guesses_are_counted_before_checking,
            client_address_limit_spans_usernames,
            login_storm_past_the_queue_bound_gets_503,
            files_holding_secrets_are_private,
            restart_with_the_users_file_undoes_nothing,
            two_instances_importing_at_once_make_one_row_per_user,
            slow_and_idle_connections_are_closed,
            logs_carry_request_ids_and_no_secrets,
            metrics_are_served_only_when_asked,
            openapi_document_describes_every_route,
            code_flow_with_pkce_for_a_public_client,
            unregistered_redirect_uris_get_a_page_not_a_redirect,
            authorize_errors_redirect_with_state_and_iss,
            code_exchange_attacks,
            login_form_csrf_throttling_and_failures,
            consent_for_third_party_clients,
            client_credentials_and_introspection,
            password_grant_off_leaves_the_code_flow,
            clients_file_is_insert_if_absent_and_demo_client,
            discovery_documents_describe_the_provider,
            id_token_and_userinfo_from_the_code_flow,
            userinfo_claims_follow_the_scopes,
            openidconnect_crate_completes_the_flow,
            login_through_a_second_server,
            upstream_refusals_end_on_error_pages
        );
        $crate::contract_suite!(@ignored $bin;
            "needs PostgreSQL and Redis: set TOKENWARD_TEST_POSTGRES_URL and TOKENWARD_TEST_REDIS_URL, run with --ignored";
            two_instances_share_postgres_and_redis
        );
        $crate::contract_suite!(@ignored $bin;
            "needs redis-server on PATH, run with --ignored";
            redis_outage_gives_503_then_recovers,
            redis_data_loss_refuses_earlier_tokens
        );
    };
    (@ignored $bin:expr; $reason:literal; $($clause:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[ignore = $reason]
            async fn $clause() {
                $crate::clauses::$clause(::std::path::Path::new($bin)).await
            }
        )*
    };
    (@each $bin:expr; $($clause:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $clause() {
                $crate::clauses::$clause(::std::path::Path::new($bin)).await
            }
        )*
    };
}
