/*
 * sb_org.c: the simulated Salesforce org of deprov-sandbox: users with their UserLogin row and
 * OauthToken rows, owned records of any sObject type, the hash indexes every request is served
 * from (users by Id, Username, Email and FederationIdentifier; tokens by Id and DeleteToken;
 * records by Id and, per type, by owner), id generation and loading seed documents.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "sandbox.h"

/* The next number handed out for one key prefix. */
struct sb_counter {
	char prefix[4];
	uint64_t next;
};

static const struct {
	const char *name;
	const char *prefix;
} builtin_types[] = {
	{ "Account", "001" },
	{ "Opportunity", "006" },
	{ "Case", "500" },
	{ "Lead", "00Q" },
};

/*
 * The deactivation blockers: errorCode, message and field of Salesforce's answer. Messages are
 * the ones Salesforce's help articles quote where they quote one (workflow user, case owner,
 * Web-to-Lead creator, portal administrator, hierarchy field: articles 000384586, 000003585,
 * 000386638, 000384962); the others follow their pattern. A validation rule's message is the
 * org's own: this one is an example.
 */
static const struct {
	const char *name;
	const char *code;
	const char *msg; /* NULL: built with the user's id */
	const char *field;
} blockers[SB_BLOCK_COUNT] = {
	[SB_BLOCK_NONE] = { "none", NULL, NULL, NULL },
	[SB_BLOCK_WORKFLOW_USER] = { "default_workflow_user", "FIELD_INTEGRITY_EXCEPTION",
	    "You cannot deactivate the Default Workflow User", "IsActive" },
	[SB_BLOCK_LEAD_OWNER] = { "default_lead_owner", "FIELD_INTEGRITY_EXCEPTION",
	    "You cannot deactivate this user. You cannot deactivate a user who is the default "
	    "owner of leads", "IsActive" },
	[SB_BLOCK_CASE_OWNER] = { "default_case_owner", "FIELD_INTEGRITY_EXCEPTION",
	    "You cannot deactivate this user. You cannot deactivate a user who is the default "
	    "owner of cases", "IsActive" },
	[SB_BLOCK_WEB_TO_LEAD] = { "web_to_lead_creator", "FIELD_INTEGRITY_EXCEPTION",
	    "You cannot disable the Web to Lead Default Creator", "IsActive" },
	[SB_BLOCK_WEB_TO_CASE] = { "web_to_case_creator", "FIELD_INTEGRITY_EXCEPTION",
	    "You cannot deactivate this user. You cannot deactivate a user who is the Automated "
	    "Case User", "IsActive" },
	[SB_BLOCK_PORTAL_ADMIN] = { "portal_admin", "FIELD_INTEGRITY_EXCEPTION",
	    "You cannot deactivate a user who is a portal administrator", "IsActive" },
	[SB_BLOCK_PORTAL_OWNER] = { "portal_account_owner", "INACTIVE_OWNER_OR_USER",
	    NULL, NULL },
	[SB_BLOCK_HIERARCHY] = { "hierarchy_field", "FIELD_INTEGRITY_EXCEPTION",
	    "Cannot complete this operation. Cannot inactivate user that is the value of a "
	    "hierarchy field: User Hierarchy.", "IsActive" },
	[SB_BLOCK_APPROVER] = { "approval_routing", "FIELD_INTEGRITY_EXCEPTION",
	    "You cannot deactivate this user. This user is an assigned approver or delegated "
	    "approver in an approval process", "IsActive" },
	[SB_BLOCK_VALIDATION] = { "validation_rule", "FIELD_CUSTOM_VALIDATION_EXCEPTION",
	    "Users who still own open opportunities cannot be deactivated", NULL },
};

static const char *const app_names[] = {
	"Salesforce for Outlook", "Salesforce Mobile", "Dataloader Partner", "Workbench",
	"Slack for Salesforce",
};

static int org_id_used(const struct sb_org *org, const char *id);
static int org_new_id(struct sb_org *org, const char *prefix, char *out);
static struct sb_type *org_add_type(struct sb_org *org, const char *name, char *err,
    size_t errlen);
static struct sb_user *org_add_user(struct sb_org *org, const char *id, const char *username,
    const char *email, const char *fedid, const char *name, int active, int frozen, char *err,
    size_t errlen);
static struct sb_token *org_add_token(struct sb_org *org, struct sb_user *u, const char *app,
    const char *dtoken, char *err, size_t errlen);
static struct sb_record *org_add_record(struct sb_org *org, struct sb_type *t, const char *id,
    const char *owner, const char *name, const char *fail, char *err, size_t errlen);
static int olist_link(struct sb_type *t, struct sb_record *r);
static void olist_unlink(struct sb_record *r);
static void user_free(struct sb_user *u);
static int seed_user(struct sb_org *org, struct json_object *ju, size_t *ntokens, char *err,
    size_t errlen);
static int seed_record(struct sb_org *org, struct json_object *jr, char *err, size_t errlen);
static int seed_generate(struct sb_org *org, struct json_object *jg, size_t *nusers,
    size_t *nrecords, size_t *ntokens, char *err, size_t errlen);
static int seed_tokens(struct sb_org *org, struct sb_user *u, struct json_object *jt,
    size_t *ntokens, char *err, size_t errlen);

int
org_init(struct sb_org *org)
{
	size_t i;
	char err[128];

	memset(org, 0, sizeof *org);
	sb_map_init(&org->users_by_id, 0, SB_ID_KEYLEN);
	sb_map_init(&org->users_by_username, 1, 0);
	sb_map_init(&org->users_by_email, 1, 0);
	sb_map_init(&org->users_by_fedid, 1, 0);
	sb_map_init(&org->logins_by_id, 0, SB_ID_KEYLEN);
	sb_map_init(&org->tokens_by_id, 0, SB_ID_KEYLEN);
	sb_map_init(&org->tokens_by_dtoken, 0, 0);
	sb_map_init(&org->records_by_id, 0, SB_ID_KEYLEN);
	sb_map_init(&org->types_by_name, 1, 0);
	sb_map_init(&org->counters, 0, 0);
	for (i = 0; i < sizeof builtin_types / sizeof builtin_types[0]; i++)
		if (org_add_type(org, builtin_types[i].name, err, sizeof err) == NULL)
			return -1;
	return 0;
}

static void
user_free(struct sb_user *u)
{
	struct sb_token *t, *next;

	for (t = u->thead; t != NULL; t = next) {
		next = t->unext;
		free(t->app);
		free(t->dtoken);
		free(t);
	}
	free(u->username);
	free(u->email);
	free(u->fedid);
	free(u->name);
	free(u->blocker_msg);
	free(u);
}

int
org_blocker_parse(const char *name)
{
	int i;

	if (name == NULL || name[0] == '\0')
		return SB_BLOCK_NONE;
	for (i = 0; i < SB_BLOCK_COUNT; i++)
		if (strcmp(blockers[i].name, name) == 0)
			return i;
	return -1;
}

const char *
org_blocker_name(enum sb_blocker b)
{
	return (int)b >= 0 && b < SB_BLOCK_COUNT ? blockers[b].name : "none";
}

void
org_blocker_error(const struct sb_user *u, const char **code, char *msg, size_t msglen,
    const char **field)
{
	enum sb_blocker b = u->blocker > SB_BLOCK_NONE && u->blocker < SB_BLOCK_COUNT ?
	    u->blocker : SB_BLOCK_WORKFLOW_USER;

	*code = blockers[b].code;
	*field = blockers[b].field;
	if (u->blocker_msg != NULL)
		snprintf(msg, msglen, "%s", u->blocker_msg);
	else if (blockers[b].msg == NULL)
		snprintf(msg, msglen, "operation performed with inactive user [%s] as owner of a "
		    "portal account", u->id);
	else
		snprintf(msg, msglen, "%s", blockers[b].msg);
}

size_t
org_active_users(const struct sb_org *org)
{
	size_t i, n = 0;

	for (i = 0; i < org->nusers; i++)
		n += org->users[i]->active != 0;
	return n;
}

/* "blocker" and "blocker_message" of a seed or admin object into *b and *msg (owned). */
static int
blocker_read(struct json_object *o, enum sb_blocker *b, char **msg, int *has, char *err,
    size_t errlen)
{
	struct json_object *v;
	int k;

	*has = 0;
	*msg = NULL;
	if (json_object_object_get_ex(o, "blocker", &v)) {
		*has = 1;
		if (json_object_is_type(v, json_type_null))
			k = SB_BLOCK_NONE;
		else if (!json_object_is_type(v, json_type_string) ||
		    (k = org_blocker_parse(json_object_get_string(v))) == -1) {
			snprintf(err, errlen, "blocker must be null or one of "
			    "default_workflow_user, default_lead_owner, default_case_owner, "
			    "web_to_lead_creator, web_to_case_creator, portal_admin, "
			    "portal_account_owner, hierarchy_field, approval_routing, "
			    "validation_rule");
			return -1;
		}
		*b = (enum sb_blocker)k;
	}
	if (json_object_object_get_ex(o, "blocker_message", &v) &&
	    !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_string) ||
		    json_object_get_string_len(v) == 0 || json_object_get_string_len(v) > 1000) {
			snprintf(err, errlen, "blocker_message must be a string of 1..1000 bytes");
			return -1;
		}
		if ((*msg = sb_strdup(json_object_get_string(v))) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

int
org_user_admin(struct sb_org *org, struct sb_user *u, struct json_object *body, char *err,
    size_t errlen)
{
	enum sb_blocker b = u->blocker;
	char *msg = NULL;
	int has, active, frozen;

	(void)org;
	if (!json_object_is_type(body, json_type_object)) {
		snprintf(err, errlen, "expected a JSON object");
		return -1;
	}
	json_object_object_foreach(body, key, val) {
		(void)val;
		if (strcmp(key, "blocker") != 0 && strcmp(key, "blocker_message") != 0 &&
		    strcmp(key, "IsActive") != 0 && strcmp(key, "IsFrozen") != 0) {
			snprintf(err, errlen, "unknown key '%s' (blocker, blocker_message, "
			    "IsActive, IsFrozen)", key);
			return -1;
		}
	}
	if ((active = sb_jbool(body, "IsActive", u->active)) == -1 ||
	    (frozen = sb_jbool(body, "IsFrozen", u->login.frozen)) == -1) {
		snprintf(err, errlen, "IsActive and IsFrozen must be booleans");
		return -1;
	}
	if (blocker_read(body, &b, &msg, &has, err, errlen) == -1)
		return -1;
	u->active = active;
	u->login.frozen = frozen;
	u->blocker = b;
	if (msg != NULL || (has && b == SB_BLOCK_NONE)) {
		free(u->blocker_msg);
		u->blocker_msg = msg;
	}
	return 0;
}

void
org_free(struct sb_org *org)
{
	size_t i, pos;
	struct sb_map_ent *e;

	for (i = 0; i < org->nusers; i++)
		user_free(org->users[i]);
	free(org->users);
	for (i = 0; i < org->ntypes; i++) {
		struct sb_type *t = org->types[i];
		struct sb_record *r, *next;

		for (r = t->head; r != NULL; r = next) {
			next = r->tnext;
			free(r->name);
			free(r->fail);
			free(r);
		}
		pos = 0;
		while ((e = sb_map_iter(&t->owners, &pos)) != NULL)
			free(e->val);
		sb_map_free(&t->owners);
		free(t->name);
		free(t);
	}
	free(org->types);
	pos = 0;
	while ((e = sb_map_iter(&org->counters, &pos)) != NULL)
		free(e->val);
	sb_map_free(&org->users_by_id);
	sb_map_free(&org->users_by_username);
	sb_map_free(&org->users_by_email);
	sb_map_free(&org->users_by_fedid);
	sb_map_free(&org->logins_by_id);
	sb_map_free(&org->tokens_by_id);
	sb_map_free(&org->tokens_by_dtoken);
	sb_map_free(&org->records_by_id);
	sb_map_free(&org->types_by_name);
	sb_map_free(&org->counters);
	graph_free(org->graph);
	google_free(org->google);
	sb_scim_free(org->scim);
	sb_okta_free(org->okta);
	memset(org, 0, sizeof *org);
}

struct sb_user *
org_user_by_id(const struct sb_org *org, const char *id)
{
	return sb_id_valid(id) ? sb_map_get(&org->users_by_id, id) : NULL;
}

struct sb_user *
org_user_by_username(const struct sb_org *org, const char *username)
{
	return sb_map_get(&org->users_by_username, username);
}

struct sb_login *
org_login_by_id(const struct sb_org *org, const char *id)
{
	return sb_id_valid(id) ? sb_map_get(&org->logins_by_id, id) : NULL;
}

struct sb_token *
org_token_by_id(const struct sb_org *org, const char *id)
{
	return sb_id_valid(id) ? sb_map_get(&org->tokens_by_id, id) : NULL;
}

struct sb_token *
org_token_by_dtoken(const struct sb_org *org, const char *dtoken)
{
	return sb_map_get(&org->tokens_by_dtoken, dtoken);
}

struct sb_record *
org_record_by_id(const struct sb_org *org, const char *id)
{
	return sb_id_valid(id) ? sb_map_get(&org->records_by_id, id) : NULL;
}

struct sb_type *
org_type(const struct sb_org *org, const char *name)
{
	return sb_map_get(&org->types_by_name, name);
}

struct sb_olist *
org_owned(const struct sb_type *t, const char *owner)
{
	return sb_id_valid(owner) ? sb_map_get(&t->owners, owner) : NULL;
}

/* 1 when any object already has this id. */
static int
org_id_used(const struct sb_org *org, const char *id)
{
	return sb_map_get(&org->users_by_id, id) != NULL ||
	    sb_map_get(&org->logins_by_id, id) != NULL ||
	    sb_map_get(&org->tokens_by_id, id) != NULL ||
	    sb_map_get(&org->records_by_id, id) != NULL;
}

/* The next free id with this key prefix: prefix, a zero-padded counter, "AAA". */
static int
org_new_id(struct sb_org *org, const char *prefix, char *out)
{
	struct sb_counter *c = sb_map_get(&org->counters, prefix);

	if (c == NULL) {
		if ((c = calloc(1, sizeof *c)) == NULL)
			return -1;
		snprintf(c->prefix, sizeof c->prefix, "%s", prefix);
		if (sb_map_put(&org->counters, c->prefix, c) == -1) {
			free(c);
			return -1;
		}
	}
	do {
		c->next++;
		snprintf(out, SB_ID_LEN + 1, "%.3s%012" PRIu64 "AAA", prefix, (uint64_t)(c->next % 1000000000000ULL));
	} while (org_id_used(org, out));
	return 0;
}

/* Register an sObject type; the known standard types get their real key prefix. */
static struct sb_type *
org_add_type(struct sb_org *org, const char *name, char *err, size_t errlen)
{
	struct sb_type *t = NULL;
	size_t i;
	const char *prefix = "a00";

	if (!isalpha((unsigned char)name[0])) {
		snprintf(err, errlen, "bad sObject type name '%s'", name);
		return NULL;
	}
	for (i = 0; name[i] != '\0'; i++) {
		if (!isalnum((unsigned char)name[i]) && name[i] != '_') {
			snprintf(err, errlen, "bad sObject type name '%s'", name);
			return NULL;
		}
	}
	if (strcasecmp(name, "User") == 0 || strcasecmp(name, "UserLogin") == 0 ||
	    strcasecmp(name, "OauthToken") == 0) {
		snprintf(err, errlen, "'%s' cannot hold seeded records", name);
		return NULL;
	}
	for (i = 0; i < sizeof builtin_types / sizeof builtin_types[0]; i++)
		if (strcasecmp(name, builtin_types[i].name) == 0)
			prefix = builtin_types[i].prefix;
	if (org->ntypes == org->captypes) {
		size_t ncap = org->captypes == 0 ? 8 : org->captypes * 2;
		struct sb_type **nt = realloc(org->types, ncap * sizeof *nt);
		if (nt == NULL)
			goto oom;
		org->types = nt;
		org->captypes = ncap;
	}
	if ((t = calloc(1, sizeof *t)) == NULL || (t->name = sb_strdup(name)) == NULL)
		goto oom;
	snprintf(t->prefix, sizeof t->prefix, "%s", prefix);
	sb_map_init(&t->owners, 0, SB_ID_KEYLEN);
	if (sb_map_put(&org->types_by_name, t->name, t) == -1)
		goto oom;
	org->types[org->ntypes++] = t;
	return t;
oom:
	if (t != NULL)
		free(t->name);
	free(t);
	snprintf(err, errlen, "out of memory");
	return NULL;
}

static struct sb_user *
org_add_user(struct sb_org *org, const char *id, const char *username, const char *email,
    const char *fedid, const char *name, int active, int frozen, char *err, size_t errlen)
{
	struct sb_user *u = NULL;
	const char *at;

	if (username == NULL || username[0] == '\0') {
		snprintf(err, errlen, "user without Username");
		return NULL;
	}
	if (org_user_by_username(org, username) != NULL) {
		snprintf(err, errlen, "duplicate Username '%s'", username);
		return NULL;
	}
	if (fedid != NULL && fedid[0] != '\0' &&
	    sb_map_get(&org->users_by_fedid, fedid) != NULL) {
		snprintf(err, errlen, "duplicate FederationIdentifier '%s'", fedid);
		return NULL;
	}
	if (id != NULL && (strlen(id) != SB_ID_LEN || !sb_id_valid(id) ||
	    strncmp(id, "005", 3) != 0)) {
		snprintf(err, errlen, "bad User Id '%s' (18 characters starting 005)", id);
		return NULL;
	}
	if (id != NULL && org_id_used(org, id)) {
		snprintf(err, errlen, "duplicate Id '%s'", id);
		return NULL;
	}
	if (org->nusers == org->capusers) {
		size_t ncap = org->capusers == 0 ? 64 : org->capusers * 2;
		struct sb_user **nu = realloc(org->users, ncap * sizeof *nu);
		if (nu == NULL)
			goto oom;
		org->users = nu;
		org->capusers = ncap;
	}
	if ((u = calloc(1, sizeof *u)) == NULL)
		goto oom;
	if (id != NULL)
		snprintf(u->id, sizeof u->id, "%s", id);
	else if (org_new_id(org, "005", u->id) == -1)
		goto oom;
	if (org_new_id(org, "060", u->login.id) == -1)
		goto oom;
	u->login.user = u;
	u->login.frozen = frozen;
	u->active = active;
	at = strchr(username, '@');
	if ((u->username = sb_strdup(username)) == NULL ||
	    (u->email = sb_strdup(email != NULL ? email : username)) == NULL ||
	    (fedid != NULL && fedid[0] != '\0' && (u->fedid = sb_strdup(fedid)) == NULL))
		goto oom;
	if (name != NULL)
		u->name = sb_strdup(name);
	else
		u->name = sb_strndup(username, at != NULL ? (size_t)(at - username) : strlen(username));
	if (u->name == NULL)
		goto oom;
	if (sb_map_put(&org->users_by_id, u->id, u) == -1)
		goto oom;
	if (sb_map_put(&org->users_by_username, u->username, u) == -1)
		goto oom_id;
	if (sb_map_put(&org->users_by_email, u->email, u) == -1)
		goto oom_username;
	if (u->fedid != NULL && sb_map_put(&org->users_by_fedid, u->fedid, u) == -1)
		goto oom_email;
	if (sb_map_put(&org->logins_by_id, u->login.id, &u->login) == -1)
		goto oom_fedid;
	org->users[org->nusers++] = u;
	return u;
oom_fedid:
	if (u->fedid != NULL)
		sb_map_del(&org->users_by_fedid, u->fedid, u);
oom_email:
	sb_map_del(&org->users_by_email, u->email, u);
oom_username:
	sb_map_del(&org->users_by_username, u->username, u);
oom_id:
	sb_map_del(&org->users_by_id, u->id, u);
oom:
	if (u != NULL)
		user_free(u);
	snprintf(err, errlen, "out of memory");
	return NULL;
}

static struct sb_token *
org_add_token(struct sb_org *org, struct sb_user *u, const char *app, const char *dtoken,
    char *err, size_t errlen)
{
	struct sb_token *t = NULL;
	char gen[64];

	if (dtoken == NULL) {
		uint64_t x = ++org->token_serial * 0x9e3779b97f4a7c15ULL;
		x ^= x >> 31;
		x *= 0xbf58476d1ce4e5b9ULL;
		x ^= x >> 29;
		snprintf(gen, sizeof gen, "DT%016" PRIx64 "%08" PRIu64, x, org->token_serial);
		dtoken = gen;
	}
	if (org_token_by_dtoken(org, dtoken) != NULL) {
		snprintf(err, errlen, "duplicate DeleteToken '%s'", dtoken);
		return NULL;
	}
	if ((t = calloc(1, sizeof *t)) == NULL)
		goto oom;
	if (org_new_id(org, "0CQ", t->id) == -1)
		goto oom;
	if (app == NULL)
		app = app_names[u->ntokens % (sizeof app_names / sizeof app_names[0])];
	if ((t->app = sb_strdup(app)) == NULL || (t->dtoken = sb_strdup(dtoken)) == NULL)
		goto oom;
	if (sb_map_put(&org->tokens_by_id, t->id, t) == -1)
		goto oom;
	if (sb_map_put(&org->tokens_by_dtoken, t->dtoken, t) == -1) {
		sb_map_del(&org->tokens_by_id, t->id, t);
		goto oom;
	}
	t->user = u;
	t->uprev = u->ttail;
	if (u->ttail != NULL)
		u->ttail->unext = t;
	else
		u->thead = t;
	u->ttail = t;
	u->ntokens++;
	t->gprev = org->ttail;
	if (org->ttail != NULL)
		org->ttail->gnext = t;
	else
		org->thead = t;
	org->ttail = t;
	org->ntokens++;
	return t;
oom:
	if (t != NULL) {
		free(t->app);
		free(t->dtoken);
	}
	free(t);
	snprintf(err, errlen, "out of memory");
	return NULL;
}

void
org_token_delete(struct sb_org *org, struct sb_token *t)
{
	struct sb_user *u = t->user;

	sb_map_del(&org->tokens_by_id, t->id, t);
	sb_map_del(&org->tokens_by_dtoken, t->dtoken, t);
	if (t->uprev != NULL)
		t->uprev->unext = t->unext;
	else
		u->thead = t->unext;
	if (t->unext != NULL)
		t->unext->uprev = t->uprev;
	else
		u->ttail = t->uprev;
	u->ntokens--;
	if (t->gprev != NULL)
		t->gprev->gnext = t->gnext;
	else
		org->thead = t->gnext;
	if (t->gnext != NULL)
		t->gnext->gprev = t->gprev;
	else
		org->ttail = t->gprev;
	org->ntokens--;
	free(t->app);
	free(t->dtoken);
	free(t);
}

/* Put r at the tail of its owner's list (r->owner), creating the list. */
static int
olist_link(struct sb_type *t, struct sb_record *r)
{
	struct sb_olist *ol = sb_map_get(&t->owners, r->owner);

	if (ol == NULL) {
		if ((ol = calloc(1, sizeof *ol)) == NULL)
			return -1;
		memcpy(ol->owner, r->owner, sizeof ol->owner);
		if (sb_map_put(&t->owners, ol->owner, ol) == -1) {
			free(ol);
			return -1;
		}
	}
	r->ol = ol;
	r->onext = NULL;
	r->oprev = ol->tail;
	if (ol->tail != NULL)
		ol->tail->onext = r;
	else
		ol->head = r;
	ol->tail = r;
	ol->count++;
	return 0;
}

static void
olist_unlink(struct sb_record *r)
{
	struct sb_olist *ol = r->ol;

	if (r->oprev != NULL)
		r->oprev->onext = r->onext;
	else
		ol->head = r->onext;
	if (r->onext != NULL)
		r->onext->oprev = r->oprev;
	else
		ol->tail = r->oprev;
	ol->count--;
	r->ol = NULL;
	r->oprev = r->onext = NULL;
}

int
org_record_set_owner(struct sb_org *org, struct sb_record *r, const char *owner)
{
	char old[SB_ID_LEN + 1];
	struct sb_user *u = org_user_by_id(org, owner);

	memcpy(old, r->owner, sizeof old);
	olist_unlink(r);
	/* owners are stored in their 18-character form */
	snprintf(r->owner, sizeof r->owner, "%s", u != NULL ? u->id : owner);
	if (olist_link(r->type, r) == -1) {
		memcpy(r->owner, old, sizeof old);
		if (olist_link(r->type, r) == -1)
			abort(); /* its old list exists: linking allocates nothing */
		return -1;
	}
	return 0;
}

static struct sb_record *
org_add_record(struct sb_org *org, struct sb_type *t, const char *id, const char *owner,
    const char *name, const char *fail, char *err, size_t errlen)
{
	struct sb_record *r = NULL;
	struct sb_user *u;

	if (owner == NULL || !sb_id_valid(owner)) {
		snprintf(err, errlen, "record without a valid OwnerId");
		return NULL;
	}
	if (id != NULL && (strlen(id) != SB_ID_LEN || !sb_id_valid(id))) {
		snprintf(err, errlen, "bad record Id '%s' (18 alphanumerics)", id);
		return NULL;
	}
	if (id != NULL && org_id_used(org, id)) {
		snprintf(err, errlen, "duplicate Id '%s'", id);
		return NULL;
	}
	if ((r = calloc(1, sizeof *r)) == NULL)
		goto oom;
	if (id != NULL)
		snprintf(r->id, sizeof r->id, "%s", id);
	else if (org_new_id(org, t->prefix, r->id) == -1)
		goto oom;
	u = org_user_by_id(org, owner);
	snprintf(r->owner, sizeof r->owner, "%s", u != NULL ? u->id : owner);
	r->type = t;
	if (name != NULL)
		r->name = sb_strdup(name);
	else {
		char buf[64];
		snprintf(buf, sizeof buf, "%s %zu", t->name, t->total + 1);
		r->name = sb_strdup(buf);
	}
	if (r->name == NULL || (fail != NULL && (r->fail = sb_strdup(fail)) == NULL))
		goto oom;
	if (sb_map_put(&org->records_by_id, r->id, r) == -1)
		goto oom;
	if (olist_link(t, r) == -1) {
		sb_map_del(&org->records_by_id, r->id, r);
		goto oom;
	}
	r->tprev = t->tail;
	if (t->tail != NULL)
		t->tail->tnext = r;
	else
		t->head = r;
	t->tail = r;
	t->total++;
	org->nrecords++;
	return r;
oom:
	if (r != NULL) {
		free(r->name);
		free(r->fail);
	}
	free(r);
	snprintf(err, errlen, "out of memory");
	return NULL;
}

/* "tokens": a count, or an array of {"AppName","DeleteToken"}. */
static int
seed_tokens(struct sb_org *org, struct sb_user *u, struct json_object *jt, size_t *ntokens,
    char *err, size_t errlen)
{
	size_t i, n;

	if (jt == NULL || json_object_is_type(jt, json_type_null))
		return 0;
	if (json_object_is_type(jt, json_type_int)) {
		int64_t k = json_object_get_int64(jt);
		if (k < 0 || k > 100000) {
			snprintf(err, errlen, "bad tokens count");
			return -1;
		}
		for (i = 0; i < (size_t)k; i++) {
			if (org_add_token(org, u, NULL, NULL, err, errlen) == NULL)
				return -1;
			(*ntokens)++;
		}
		return 0;
	}
	if (!json_object_is_type(jt, json_type_array)) {
		snprintf(err, errlen, "tokens must be a number or an array");
		return -1;
	}
	n = json_object_array_length(jt);
	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(jt, i);
		if (!json_object_is_type(o, json_type_object)) {
			snprintf(err, errlen, "tokens[] entries must be objects");
			return -1;
		}
		if (org_add_token(org, u, sb_jstr(o, "AppName"), sb_jstr(o, "DeleteToken"), err,
		    errlen) == NULL)
			return -1;
		(*ntokens)++;
	}
	return 0;
}

static int
seed_user(struct sb_org *org, struct json_object *ju, size_t *ntokens, char *err, size_t errlen)
{
	struct sb_user *u;
	struct json_object *jt = NULL;
	enum sb_blocker blocker = SB_BLOCK_NONE;
	char *msg = NULL;
	int active, frozen, has;

	if (!json_object_is_type(ju, json_type_object)) {
		snprintf(err, errlen, "users[] entries must be objects");
		return -1;
	}
	if ((active = sb_jbool(ju, "IsActive", 1)) == -1 ||
	    (frozen = sb_jbool(ju, "IsFrozen", 0)) == -1) {
		snprintf(err, errlen, "IsActive and IsFrozen must be booleans");
		return -1;
	}
	if (blocker_read(ju, &blocker, &msg, &has, err, errlen) == -1)
		return -1;
	u = org_add_user(org, sb_jstr(ju, "Id"), sb_jstr(ju, "Username"), sb_jstr(ju, "Email"),
	    sb_jstr(ju, "FederationIdentifier"), sb_jstr(ju, "Name"), active, frozen, err, errlen);
	if (u == NULL) {
		free(msg);
		return -1;
	}
	u->blocker = blocker;
	u->blocker_msg = msg;
	json_object_object_get_ex(ju, "tokens", &jt);
	return seed_tokens(org, u, jt, ntokens, err, errlen);
}

static int
seed_record(struct sb_org *org, struct json_object *jr, char *err, size_t errlen)
{
	const char *tname;
	struct sb_type *t;

	if (!json_object_is_type(jr, json_type_object)) {
		snprintf(err, errlen, "records[] entries must be objects");
		return -1;
	}
	if ((tname = sb_jstr(jr, "type")) == NULL) {
		snprintf(err, errlen, "record without a type");
		return -1;
	}
	if ((t = org_type(org, tname)) == NULL && (t = org_add_type(org, tname, err, errlen)) == NULL)
		return -1;
	return org_add_record(org, t, sb_jstr(jr, "Id"), sb_jstr(jr, "OwnerId"),
	    sb_jstr(jr, "Name"), sb_jstr(jr, "fail"), err, errlen) == NULL ? -1 : 0;
}

static int
seed_generate(struct sb_org *org, struct json_object *jg, size_t *nusers, size_t *nrecords,
    size_t *ntokens, char *err, size_t errlen)
{
	const char *prefix, *domain;
	struct json_object *jc, *jo = NULL, *jt = NULL, *js;
	int64_t count, start = 1, i;
	int active, frozen;

	if (!json_object_is_type(jg, json_type_object)) {
		snprintf(err, errlen, "generate[] entries must be objects");
		return -1;
	}
	prefix = sb_jstr(jg, "prefix");
	domain = sb_jstr(jg, "domain");
	if (prefix == NULL)
		prefix = "user";
	if (domain == NULL)
		domain = "example.com";
	if (!json_object_object_get_ex(jg, "count", &jc) || !json_object_is_type(jc, json_type_int) ||
	    (count = json_object_get_int64(jc)) < 0 || count > 10000000) {
		snprintf(err, errlen, "generate needs a count");
		return -1;
	}
	if (json_object_object_get_ex(jg, "start", &js)) {
		if (!json_object_is_type(js, json_type_int) || (start = json_object_get_int64(js)) < 0) {
			snprintf(err, errlen, "bad start");
			return -1;
		}
	}
	if ((active = sb_jbool(jg, "IsActive", 1)) == -1 ||
	    (frozen = sb_jbool(jg, "IsFrozen", 0)) == -1) {
		snprintf(err, errlen, "IsActive and IsFrozen must be booleans");
		return -1;
	}
	json_object_object_get_ex(jg, "tokens", &jt);
	if (json_object_object_get_ex(jg, "owned", &jo) && !json_object_is_type(jo, json_type_object)) {
		snprintf(err, errlen, "owned must be an object");
		return -1;
	}
	for (i = start; i < start + count; i++) {
		char emp[128], uname[384];
		struct sb_user *u;

		snprintf(emp, sizeof emp, "%s%04" PRId64, prefix, i);
		snprintf(uname, sizeof uname, "%s@%s", emp, domain);
		u = org_add_user(org, NULL, uname, uname, emp, NULL, active, frozen, err, errlen);
		if (u == NULL)
			return -1;
		(*nusers)++;
		if (seed_tokens(org, u, jt, ntokens, err, errlen) == -1)
			return -1;
		if (jo == NULL)
			continue;
		json_object_object_foreach(jo, tname, jn) {
			struct sb_type *t;
			int64_t k, n;

			if (!json_object_is_type(jn, json_type_int) || (n = json_object_get_int64(jn)) < 0 ||
			    n > 10000000) {
				snprintf(err, errlen, "owned counts must be numbers");
				return -1;
			}
			if ((t = org_type(org, tname)) == NULL &&
			    (t = org_add_type(org, tname, err, errlen)) == NULL)
				return -1;
			for (k = 0; k < n; k++) {
				if (org_add_record(org, t, NULL, u->id, NULL, NULL, err, errlen) == NULL)
					return -1;
				(*nrecords)++;
			}
		}
	}
	/* the same people at other targets: "scim_apps": [...], "okta", "graph", "google" */
	if (sb_scim_seed_generate(org, jg, nusers, err, errlen) == -1 ||
	    sb_okta_seed_generate(org, jg, nusers, err, errlen) == -1 ||
	    graph_seed_generate(org, jg, nusers, err, errlen) == -1 ||
	    google_seed_generate(org, jg, nusers, err, errlen) == -1)
		return -1;
	return 0;
}

int
org_seed(struct sb_org *org, struct json_object *seed, size_t *nusers, size_t *nrecords,
    size_t *ntokens, char *err, size_t errlen)
{
	struct json_object *arr;
	size_t i, n;

	*nusers = *nrecords = *ntokens = 0;
	if (!json_object_is_type(seed, json_type_object)) {
		snprintf(err, errlen, "a seed is a JSON object");
		return -1;
	}
	if (json_object_object_get_ex(seed, "licenses", &arr)) {
		int64_t lic = sb_jint(seed, "licenses", 0, 100000000);

		if (lic < 0) {
			snprintf(err, errlen, "licenses must be a number 0..100000000");
			return -1;
		}
		org->licenses = lic;
	}
	if (json_object_object_get_ex(seed, "users", &arr)) {
		if (!json_object_is_type(arr, json_type_array)) {
			snprintf(err, errlen, "users must be an array");
			return -1;
		}
		n = json_object_array_length(arr);
		for (i = 0; i < n; i++) {
			if (seed_user(org, json_object_array_get_idx(arr, i), ntokens, err, errlen) == -1)
				return -1;
			(*nusers)++;
		}
	}
	if (json_object_object_get_ex(seed, "records", &arr)) {
		if (!json_object_is_type(arr, json_type_array)) {
			snprintf(err, errlen, "records must be an array");
			return -1;
		}
		n = json_object_array_length(arr);
		for (i = 0; i < n; i++) {
			if (seed_record(org, json_object_array_get_idx(arr, i), err, errlen) == -1)
				return -1;
			(*nrecords)++;
		}
	}
	if (json_object_object_get_ex(seed, "generate", &arr)) {
		if (!json_object_is_type(arr, json_type_array)) {
			snprintf(err, errlen, "generate must be an array");
			return -1;
		}
		n = json_object_array_length(arr);
		for (i = 0; i < n; i++)
			if (seed_generate(org, json_object_array_get_idx(arr, i), nusers, nrecords,
			    ntokens, err, errlen) == -1)
				return -1;
	}
	/* other targets' sections (sb_graph.c, sb_google.c) */
	if (json_object_object_get_ex(seed, "graph", &arr) &&
	    graph_seed(org, arr, nusers, err, errlen) == -1)
		return -1;
	if (json_object_object_get_ex(seed, "google", &arr) &&
	    google_seed(org, arr, nusers, err, errlen) == -1)
		return -1;
	if (json_object_object_get_ex(seed, "scim", &arr) &&
	    sb_scim_seed(org, arr, nusers, err, errlen) == -1)
		return -1;
	if (json_object_object_get_ex(seed, "okta", &arr) &&
	    sb_okta_seed(org, arr, nusers, err, errlen) == -1)
		return -1;
	return 0;
}

void
org_user_json(const struct sb_org *org, const struct sb_user *u, int owned, struct sb_buf *b)
{
	size_t i;

	sb_buf_puts(b, "{\"Id\":\"");
	sb_buf_puts(b, u->id);
	sb_buf_puts(b, "\",\"Username\":");
	sb_buf_jstr(b, u->username);
	sb_buf_puts(b, ",\"Email\":");
	sb_buf_jstr(b, u->email);
	sb_buf_puts(b, ",\"FederationIdentifier\":");
	sb_buf_jstr(b, u->fedid);
	sb_buf_puts(b, ",\"Name\":");
	sb_buf_jstr(b, u->name);
	sb_buf_printf(b, ",\"IsActive\":%s,\"IsFrozen\":%s,\"UserLoginId\":\"%s\",\"tokens\":%zu",
	    u->active ? "true" : "false", u->login.frozen ? "true" : "false", u->login.id,
	    u->ntokens);
	sb_buf_puts(b, ",\"blocker\":");
	sb_buf_jstr(b, u->blocker != SB_BLOCK_NONE ? org_blocker_name(u->blocker) : NULL);
	if (owned) {
		sb_buf_puts(b, ",\"owned\":{");
		for (i = 0; i < org->ntypes; i++) {
			const struct sb_olist *ol = org_owned(org->types[i], u->id);
			if (i > 0)
				sb_buf_putc(b, ',');
			sb_buf_jstr(b, org->types[i]->name);
			sb_buf_printf(b, ":%zu", ol != NULL ? ol->count : 0);
		}
		sb_buf_putc(b, '}');
	}
	sb_buf_putc(b, '}');
}

void
org_state_json(const struct sb_org *org, struct sb_buf *b)
{
	size_t i, pos;
	struct sb_map_ent *e;

	sb_buf_puts(b, "{\"users\":[");
	for (i = 0; i < org->nusers; i++) {
		if (i > 0)
			sb_buf_putc(b, ',');
		org_user_json(org, org->users[i], 0, b);
	}
	sb_buf_puts(b, "],\"records\":{");
	for (i = 0; i < org->ntypes; i++) {
		const struct sb_type *t = org->types[i];
		int first = 1;

		if (i > 0)
			sb_buf_putc(b, ',');
		sb_buf_jstr(b, t->name);
		sb_buf_printf(b, ":{\"total\":%zu,\"by_owner\":{", t->total);
		pos = 0;
		while ((e = sb_map_iter(&t->owners, &pos)) != NULL) {
			const struct sb_olist *ol = e->val;
			if (ol->count == 0)
				continue;
			sb_buf_printf(b, "%s\"%s\":%zu", first ? "" : ",", ol->owner, ol->count);
			first = 0;
		}
		sb_buf_puts(b, "}}");
	}
	sb_buf_printf(b, "},\"tokens\":%zu,\"api_usage\":%" PRId64 ",\"licenses\":%" PRId64
	    ",\"active_users\":%zu", org->ntokens, org->api_used, org->licenses,
	    org_active_users(org));
	graph_state_json(org, b);
	google_state_json(org, b);
	sb_scim_state_json(org, b);
	sb_okta_state_json(org, b);
	sb_buf_putc(b, '}');
}
