//! A GitHub-style API: the declaration, the user type and the wire types. Pagination,
//! scopes and error bodies are declared here, so the code calling it has none of them.

use oauth2_api::{ApiUser, Error, UserRef, oauth2_api};
use serde::{Deserialize, Serialize};

/// A person of the application who connects their GitHub account.
#[derive(Clone, Debug)]
pub struct Developer {
    /// The application's own id of the person.
    pub id: u32,
}

impl ApiUser for Developer {
    fn user_ref(&self) -> UserRef {
        UserRef::new("developer", self.id)
    }
}

/// `GET /user`.
#[derive(Debug, Deserialize)]
pub struct User {
    /// The account's login.
    pub login: String,
}

/// One repository of `GET /user/repos`.
#[derive(Debug, Deserialize)]
pub struct Repo {
    /// `owner/name`.
    pub full_name: String,
    /// Whether only its members see it.
    pub private: bool,
}

/// The body of `POST /user/repos`.
#[derive(Debug, Serialize)]
pub struct NewRepo<'a> {
    /// The repository's name.
    pub name: &'a str,
}

/// GitHub's error body (`422 Validation Failed` and the others), kept whole.
#[derive(Clone, Debug, Deserialize)]
pub struct GitHubError {
    /// What went wrong, e.g. `Validation Failed`.
    pub message: String,
    /// The page documenting the endpoint.
    pub documentation_url: String,
    /// One entry per invalid field, when the request was invalid.
    #[serde(default)]
    pub errors: Vec<GitHubFieldError>,
}

/// One invalid field of a request GitHub refused.
#[derive(Clone, Debug, Deserialize)]
pub struct GitHubFieldError {
    /// The kind of resource, e.g. `Repository`.
    pub resource: String,
    /// The field, e.g. `name`.
    pub field: String,
    /// Why, e.g. `custom`.
    pub code: String,
    /// In words, e.g. `name already exists on this account`.
    #[serde(default)]
    pub message: Option<String>,
}

/// GitHub's REST API, the part the example uses. GitHub grants `read:user` as the
/// broader `user` and lists granted scopes comma-separated (`"user,repo"`): the
/// runtime splits on commas by itself, and `scope_implies` says `user` covers
/// `read:user`, so a person is never sent back to authorize for a scope they hold.
#[oauth2_api(provider = "GitHub",
             base_url = "https://api.github.com",
             auth_url = "https://github.com/login/oauth/authorize",
             token_url = "https://github.com/login/oauth/access_token",
             scope_implies("user" = "read:user"),
             headers("Accept" = "application/vnd.github+json"),
             error_body = GitHubError)]
pub trait GitHub {
    /// The authenticated person's account.
    #[endpoint(method = GET, path = "/user", scope = "read:user", user = Developer)]
    async fn user(&self) -> Result<User, Error>;

    /// Their repositories, one page; `repos_items` follows the `Link` headers.
    #[endpoint(method = GET, path = "/user/repos", scope = "repo", user = Developer, paginate(link))]
    async fn repos(&self, #[query] per_page: u32) -> Result<Vec<Repo>, Error>;

    /// Creates a repository; a name already taken is a 422 with [`GitHubError`].
    #[endpoint(method = POST, path = "/user/repos", scope = "repo", user = Developer)]
    async fn create_repo(&self, #[body] repo: &NewRepo<'_>) -> Result<Repo, Error>;
}
