import { sql, type Kysely } from 'kysely';

const ENROLMENT_PROOF_MS = 15 * 60_000;

/**
 * Issue 9 (the admin console): the organization's policy settings (enrolment grace, allowed
 * methods, phishing-resistant methods, password expiry, session lifetimes, logo); people who are
 * disabled, invited or given an enrolment deadline; one-time links and codes for a person
 * (password reset, invitation, temporary access code), stored only as keyed hashes; and audit
 * events with their actor, browser and request id, indexed for the console's trail; and which
 * clients may call the admin API. Also forgets the "last use" that enrolment used to record.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // One column per statement: SQLite's ALTER TABLE adds one at a time.
  const organizations = () => db.schema.alterTable('organizations');
  await organizations()
    .addColumn('tfa_grace_days', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await organizations().addColumn('allowed_methods', 'varchar(400)').execute();
  await organizations()
    .addColumn('phishing_resistant', 'varchar(16)', (c) => c.notNull().defaultTo('none'))
    .execute();
  await organizations().addColumn('password_max_age_days', 'integer').execute();
  await organizations()
    .addColumn('session_max_hours', 'integer', (c) => c.notNull().defaultTo(12))
    .execute();
  await organizations()
    .addColumn('session_idle_minutes', 'integer', (c) => c.notNull().defaultTo(30))
    .execute();
  await organizations().addColumn('logo_url', 'varchar(500)').execute();

  await db.schema
    .alterTable('clients')
    .addColumn('admin_api', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();

  await db.schema.alterTable('users').addColumn('disabled_at', 'bigint').execute();
  await db.schema.alterTable('users').addColumn('tfa_grace_until', 'bigint').execute();
  await db.schema.alterTable('users').addColumn('invited_at', 'bigint').execute();

  await db.schema.alterTable('audit_events').addColumn('actor', 'varchar(320)').execute();
  await db.schema.alterTable('audit_events').addColumn('user_agent', 'varchar(400)').execute();
  await db.schema.alterTable('audit_events').addColumn('request_id', 'varchar(64)').execute();
  await db.schema.createIndex('audit_events_org_at').on('audit_events').columns(['org_id', 'at']).execute();
  await db.schema
    .createIndex('audit_events_org_type_user')
    .on('audit_events')
    .columns(['org_id', 'type', 'user_id'])
    .execute();

  // Enrolment used to store its proof as the method's last use (issue 8: "Last used" before any use);
  // a use within the 15 minutes after enrolment was that proof, so it is forgotten.
  await sql`update factors set last_used_at = null where last_used_at - created_at <= ${ENROLMENT_PROOF_MS}`.execute(
    db,
  );

  await db.schema
    .createTable('person_tokens')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('org_id', 'varchar(36)', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('user_id', 'varchar(36)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('purpose', 'varchar(24)', (c) => c.notNull())
    .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .addColumn('created_by', 'varchar(320)')
    .execute();
  await db.schema
    .createIndex('person_tokens_user')
    .on('person_tokens')
    .columns(['org_id', 'user_id', 'purpose'])
    .execute();
}

/**
 * Enrolment used to store its proof as the method's last use (issue 8: "Last used" before any use);
 * a use within the 15 minutes after enrolment was that proof, so it is forgotten.
 */
export async function forgetEnrolmentProofs(db: Kysely<unknown>): Promise<void> {
  await sql`update factors set last_used_at = null where last_used_at - created_at <= ${ENROLMENT_PROOF_MS}`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('person_tokens').execute();
  await db.schema.dropIndex('audit_events_org_type_user').execute();
  await db.schema.dropIndex('audit_events_org_at').execute();
  for (const column of ['request_id', 'user_agent', 'actor']) {
    await db.schema.alterTable('audit_events').dropColumn(column).execute();
  }
  await db.schema.alterTable('clients').dropColumn('admin_api').execute();
  for (const column of ['invited_at', 'tfa_grace_until', 'disabled_at']) {
    await db.schema.alterTable('users').dropColumn(column).execute();
  }
  const orgColumns = [
    'logo_url',
    'session_idle_minutes',
    'session_max_hours',
    'password_max_age_days',
    'phishing_resistant',
    'allowed_methods',
    'tfa_grace_days',
  ];
  for (const column of orgColumns) await db.schema.alterTable('organizations').dropColumn(column).execute();
}
