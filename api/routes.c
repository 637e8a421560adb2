/* routes.c — every endpoint in one table: method, path, handler, roles admitted, flags.
 * openapi.yaml describes exactly these paths; tests/check_contract compares the two. */
#include "api.h"

#define ANY ROLES_ANY
#define OP ROLE_OPERATOR
#define CA ROLE_CITY_ADMIN
#define AU ROLE_AUDITOR
#define PR ROLE_PROVIDER
#define IN ROLE_INSTITUTE

const struct route api_routes[] = {
    /* operations */
    {"GET", "/healthz", api_system_healthz, ROLES_PUBLIC, 0, "process alive"},
    {"GET", "/readyz", api_system_readyz, ROLES_PUBLIC, 0, "database reachable, migrations current"},
    {"GET", "/metrics", api_system_metrics, ROLES_PUBLIC, 0, "Prometheus metrics"},
    {"GET", "/openapi.yaml", api_system_openapi, ROLES_PUBLIC, 0, "this API's description"},
    {"GET", "/docs", api_system_docs, ROLES_PUBLIC, 0, "API documentation page"},

    /* identity */
    {"POST", "/v1/sessions", api_identity_login, ROLES_PUBLIC, RF_NO_CSRF, "sign in"},
    {"DELETE", "/v1/sessions/current", api_identity_logout, ANY, 0, "sign out"},
    {"GET", "/v1/me", api_identity_me, ANY, 0, "the current user"},
    {"POST", "/v1/api-keys", api_identity_key_create, ANY, 0, "create an API key"},
    {"GET", "/v1/api-keys", api_identity_key_list, ANY, 0, "list own API keys"},
    {"DELETE", "/v1/api-keys/{id}", api_identity_key_revoke, ANY, 0, "revoke an API key"},
    {"POST", "/v1/organizations", api_identity_org_create, OP | CA, 0, "create an organization"},
    {"GET", "/v1/organizations", api_identity_org_list, ANY, 0, "list visible organizations"},
    {"GET", "/v1/organizations/{id}", api_identity_org_get, ANY, 0, "one organization"},
    {"POST", "/v1/users", api_identity_user_create, OP | CA, 0, "create a user"},
};

const size_t api_routes_len = sizeof api_routes / sizeof api_routes[0];
