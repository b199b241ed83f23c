//! The Admin API's users: search, create, read, change, delete, force logout.
//! Every request carries an admin key as its Bearer token ([`AdminKey`]).

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use uuid::Uuid;

use super::AppState;
use super::admin_schemas::{
    AdminUser, AdminUserList, CreateUserRequest, UpdateUserRequest, UsersQuery,
};
use super::extract::{Client, ValidQuery, ValidatedJson, bearer_token};
use super::problem::{ApiError, ApiResult, Problem};
use super::responses::{HashingBusy, JsonBodyErrors};
use crate::accounts::{AdminCaller, NewUserByAdmin};

/// An operator that presented an admin key. Extracted before the body, so a
/// caller without a key learns nothing, not even about its body.
pub struct AdminKey(pub AdminCaller);

impl FromRequestParts<AppState> for AdminKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let key = bearer_token(&parts.headers);
        Ok(AdminKey(state.accounts.admin_caller(key).await?))
    }
}

/// A user id from the path; anything that is not one names no user (404).
fn user_id(text: &str) -> Result<Uuid, ApiError> {
    text.parse().map_err(|_| ApiError::NotFound)
}

/// Users whose email starts with `query` (case-insensitive), a page at a time.
#[utoipa::path(get, path = "/admin/users", tag = "admin", security(("admin_key" = [])),
    params(UsersQuery),
    responses(
        (status = 200, description = "A page of users, in id order", body = AdminUserList),
        (status = 401, description = "invalid_admin_key: no or unknown admin key", body = Problem, content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "Bearer realm=\"admin\""))),
        (status = 422, description = "validation_failed (limit outside 1-100, malformed after)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_users(
    State(state): State<AppState>,
    AdminKey(admin): AdminKey,
    ValidQuery(q): ValidQuery<UsersQuery>,
) -> ApiResult<Json<AdminUserList>> {
    let (query, after, limit) = q.parse()?;
    let page = state
        .accounts
        .admin_users(&admin, &query, after, limit)
        .await?;
    Ok(Json(page.into()))
}

/// Creates a user, with a password or with a "set your password" mail.
#[utoipa::path(post, path = "/admin/users", tag = "admin", security(("admin_key" = [])),
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "Created (recorded as user_created_by_admin)", body = AdminUser,
            links(
                ("get_user" = (operation_id = "get_user", parameters(("id" = "$response.body#/id")))),
                ("update_user" = (operation_id = "update_user", parameters(("id" = "$response.body#/id")))),
                ("logout_user" = (operation_id = "logout_user", parameters(("id" = "$response.body#/id")))),
                ("delete_user" = (operation_id = "delete_user", parameters(("id" = "$response.body#/id")))),
            )),
        (status = 401, description = "invalid_admin_key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "email_taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed (as on /register, the password policy included)", body = Problem, content_type = "application/problem+json"),
        JsonBodyErrors,
        HashingBusy,
    ))]
pub async fn create_user(
    State(state): State<AppState>,
    AdminKey(admin): AdminKey,
    Client(client): Client,
    ValidatedJson(body): ValidatedJson<CreateUserRequest>,
) -> ApiResult<(StatusCode, Json<AdminUser>)> {
    let new = NewUserByAdmin {
        email: body.email,
        password: body.password,
        name: body.name,
        email_verified: body.email_verified,
    };
    let user = state.accounts.create_user(&admin, new, &client).await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// One user.
#[utoipa::path(get, path = "/admin/users/{id}", tag = "admin", security(("admin_key" = [])),
    params(("id" = Uuid, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The user", body = AdminUser),
        (status = 401, description = "invalid_admin_key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "not_found", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_user(
    State(state): State<AppState>,
    AdminKey(admin): AdminKey,
    Path(id): Path<String>,
) -> ApiResult<Json<AdminUser>> {
    let user = state.accounts.admin_user(&admin, user_id(&id)?).await?;
    Ok(Json(user.into()))
}

/// Changes a user; `disabled: true` revokes every session at once.
#[utoipa::path(patch, path = "/admin/users/{id}", tag = "admin", security(("admin_key" = [])),
    params(("id" = Uuid, Path, description = "The user's id")),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "The user as changed (user_updated, user_disabled, user_enabled)", body = AdminUser),
        (status = 401, description = "invalid_admin_key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "not_found", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "email_taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed", body = Problem, content_type = "application/problem+json"),
        JsonBodyErrors,
    ))]
pub async fn update_user(
    State(state): State<AppState>,
    AdminKey(admin): AdminKey,
    Client(client): Client,
    Path(id): Path<String>,
    ValidatedJson(body): ValidatedJson<UpdateUserRequest>,
) -> ApiResult<Json<AdminUser>> {
    let id = user_id(&id)?;
    let changes = body.into();
    let user = state
        .accounts
        .update_user(&admin, id, changes, &client)
        .await?;
    Ok(Json(user.into()))
}

/// Deletes a user: every token stops working at once, the email is free again,
/// the audit trail keeps the events.
#[utoipa::path(delete, path = "/admin/users/{id}", tag = "admin", security(("admin_key" = [])),
    params(("id" = Uuid, Path, description = "The user's id")),
    responses(
        (status = 204, description = "Deleted (recorded as user_deleted)"),
        (status = 401, description = "invalid_admin_key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "not_found", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_user(
    State(state): State<AppState>,
    AdminKey(admin): AdminKey,
    Client(client): Client,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = user_id(&id)?;
    state.accounts.delete_user(&admin, id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes every session of a user (force logout).
#[utoipa::path(post, path = "/admin/users/{id}/logout", tag = "admin", security(("admin_key" = [])),
    params(("id" = Uuid, Path, description = "The user's id")),
    responses(
        (status = 204, description = "Every session revoked (sessions_revoked_by_admin)"),
        (status = 401, description = "invalid_admin_key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "not_found", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn logout_user(
    State(state): State<AppState>,
    AdminKey(admin): AdminKey,
    Client(client): Client,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = user_id(&id)?;
    state.accounts.force_logout(&admin, id, &client).await?;
    Ok(StatusCode::NO_CONTENT)
}
