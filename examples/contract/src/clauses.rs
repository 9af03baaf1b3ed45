//! The catalogue of clauses that `contract_suite!` instantiates: one function per clause of the
//! contract, each against a fresh server process. The clauses live in one module per flow; they
//! are all re-exported here so that the macro names every one of them through a single path.

pub use crate::account_access::*;
pub use crate::code_flow::*;
pub use crate::hostile_clients::*;
pub use crate::login_limits::*;
pub use crate::openid::*;
pub use crate::openid_rp::*;
pub use crate::operations::*;
pub use crate::password_grant::*;
pub use crate::protected_routes::*;
pub use crate::refresh_rotation::*;
pub use crate::revocation::*;
pub use crate::shared_stores::*;
pub use crate::startup::*;
pub use crate::upstream::*;
