//! The whole HTTP contract against the actix-web server binary.
tokenward_contract::contract_suite!(env!("CARGO_BIN_EXE_tokenward-actix"));
