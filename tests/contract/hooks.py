"""Schemathesis hooks for `make contract-fuzz` (scripts/contract-fuzz.sh).

One hook, narrow on purpose: it drops a `positive_data_acceptance` failure only
when the service refused a schema-valid request for a reason that no JSON
Schema can state, and that the OpenAPI document names for that operation:

- a new password that zxcvbn finds easy to guess, or that contains the email
  (422 on the password field only, with exactly the policy's message);
- a well-formed secret that this service never issued or that is spent: an
  emailed token (400 invalid_token, or its HTML page for a form post), a TOTP
  code (400 invalid_code), a passkey ceremony (400 invalid_passkey).

Anything else, on any operation, with any other status, code, field or
message, still fails the run. Every dropped failure is counted in the summary
("dropped by `filter_failure`").
"""

import schemathesis

PASSWORD_POLICY = {
    "is too common or too easy to guess",
    "must not contain your email address",
}

# operation -> the password fields the policy applies to
NEW_PASSWORD_FIELDS = {
    "POST /register": {"password"},
    "POST /password/reset": {"password"},
    "POST /password/change": {"new_password"},
    "POST /admin/users": {"password"},
}

# operation -> the 400 codes that mean "a well-formed secret we did not issue"
UNKNOWN_SECRET_CODES = {
    "POST /verify-email": {"invalid_token"},
    "POST /password/reset": {"invalid_token"},
    "POST /mfa/totp/confirm": {"invalid_code"},
    "POST /mfa/recovery-codes": {"invalid_code"},
    "POST /passkeys/register/finish": {"invalid_passkey"},
}

# Form posts (from the service's own pages) are answered with a page; its
# 400 page says the link is invalid, expired or used.
FORM = "application/x-www-form-urlencoded"
EXPIRED_LINK_PAGE = "<title>Link expired or used</title>"


def _problem(response):
    if not response.headers.get("content-type", [""])[0].startswith("application/problem+json"):
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _is_password_policy(label, response):
    fields = NEW_PASSWORD_FIELDS.get(label)
    problem = _problem(response)
    if not fields or response.status_code != 422 or problem is None:
        return False
    errors = problem.get("errors") or []
    return (
        problem.get("code") == "validation_failed"
        and len(errors) == 1
        and errors[0].get("field") in fields
        and errors[0].get("message") in PASSWORD_POLICY
    )


def _is_unknown_secret(label, case, response):
    codes = UNKNOWN_SECRET_CODES.get(label)
    if not codes or response.status_code != 400:
        return False
    if case.media_type == FORM and label in ("POST /verify-email", "POST /password/reset"):
        return EXPIRED_LINK_PAGE in response.text
    problem = _problem(response)
    return problem is not None and problem.get("code") in codes


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """False drops the failure: only the refusals described above."""
    if "positive_data_acceptance" not in getattr(failure, "checks", ()):
        return True
    label = case.operation.label
    return not (_is_password_policy(label, response) or _is_unknown_secret(label, case, response))
