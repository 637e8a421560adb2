/* api.h — handlers, one file per resource group, and the helpers they share. */
#ifndef SUANLI_API_H
#define SUANLI_API_H

#include "db.h"
#include "http.h"
#include "json.h"

#define API_MAX_LIMIT 200
#define API_DEFAULT_LIMIT 50

/* Start-up and shutdown of the API layer (readiness bookkeeping and the like). */
int api_init(void);
void api_cleanup(void);

/* The caller as the jsonb p_actor every state-changing SQL function takes; malloc'd. */
char *api_actor(struct http_req *r);

/* Runs sql, whose single column is a jsonb answer, and replies it with status. No row or a
 * NULL answer replies 404 with not_found_detail. Database errors reply their problem. */
void api_reply_sql(struct http_req *r, unsigned status, const char *sql, int n,
                   const char *const *params, const char *not_found_detail);
/* The same on the read replica (for read-only endpoints). */
void api_reply_sql_read(struct http_req *r, unsigned status, const char *sql, int n,
                        const char *const *params, const char *not_found_detail);

/* Reads ?limit= (1..API_MAX_LIMIT) and ?cursor= (a UUID) for keyset pagination; replies 400
 * and returns false on a bad value. cursor is NULL when absent. */
bool api_page(struct http_req *r, char limit[8], const char **cursor);

/* --- handlers ------------------------------------------------------------------------------ */
void api_system_healthz(struct http_req *r);
void api_system_readyz(struct http_req *r);
void api_system_metrics(struct http_req *r);
void api_system_openapi(struct http_req *r);
void api_system_docs(struct http_req *r);

void api_identity_login(struct http_req *r);
void api_identity_logout(struct http_req *r);
void api_identity_me(struct http_req *r);
void api_identity_key_create(struct http_req *r);
void api_identity_key_list(struct http_req *r);
void api_identity_key_revoke(struct http_req *r);
void api_identity_org_create(struct http_req *r);
void api_identity_org_list(struct http_req *r);
void api_identity_org_get(struct http_req *r);
void api_identity_user_create(struct http_req *r);

#endif
