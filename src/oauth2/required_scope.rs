//! Scopes a route requires, as types, so a framework's extractor can carry them in its type
//! (`Bearer<ItemsWrite>`) and a handler cannot forget the check.

use crate::token::{ScopeError, Scopes};

/// The scopes a route requires. Declare one with [`required_scope!`](crate::required_scope).
pub trait RequiredScope: Send + Sync + 'static {
    /// Space-delimited scope names; `""` for none.
    const SCOPE: &'static str;

    /// [`Self::SCOPE`] parsed. A malformed constant is an error, never "no scope needed": only
    /// `""` means no scope, so a constant of spaces is refused as [`ScopeError::Empty`].
    fn scopes() -> Result<Scopes, ScopeError> {
        let scopes = Scopes::parse(Self::SCOPE)?;
        if scopes.is_empty() && !Self::SCOPE.is_empty() {
            return Err(ScopeError::Empty);
        }
        Ok(scopes)
    }
}

/// Any valid access token will do: no scope is required.
#[derive(Clone, Copy, Debug, Default)]
pub struct AnyScope;

impl RequiredScope for AnyScope {
    const SCOPE: &'static str = "";
}

/// Declares a type that requires the given space-delimited scopes.
///
/// ```
/// tokenward::required_scope!(
///     /// `items:write`: creating items.
///     pub ItemsWrite = "items:write"
/// );
/// use tokenward::oauth2::RequiredScope as _;
/// assert!(ItemsWrite::scopes()?.contains("items:write"));
/// # Ok::<(), tokenward::token::ScopeError>(())
/// ```
#[macro_export]
macro_rules! required_scope {
    ($(#[$meta:meta])* $vis:vis $name:ident = $scope:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, Default)]
        $vis struct $name;

        impl $crate::oauth2::RequiredScope for $name {
            const SCOPE: &'static str = $scope;
        }
    };
}
