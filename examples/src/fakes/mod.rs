//! Stand-ins for providers' APIs, served behind the sandbox's authorization server
//! (`Sandbox::serve`): what a provider would answer, so the examples run offline. They
//! are the provider's side, not the application's: nothing here is needed against the
//! real API.

pub mod github;
pub mod xero;
