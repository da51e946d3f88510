// Package archtest holds no code: its test checks the import rules between delivery's
// packages, so that the layers the README describes stay true as the code changes.
//
// The rules, and why:
//
//   - Only cmd/ imports httpapi: the HTTP layer is the outermost adapter; nothing inside
//     depends on how it is served.
//   - net/http appears only in httpapi (it serves), agent and whatsapp (they call other
//     services), retry (it reads a response's status and Retry-After) and cmd/: the
//     workers, the queue and the store know nothing of HTTP.
//   - The database driver (pgx) and the migration tool appear only in store, queue and
//     clock (the stored time offset), and in the test helper pgtest: the workers and the
//     HTTP layer reach Postgres through them.
//   - queue imports no other delivery package but retry: it runs tasks by kind and knows
//     nothing of messages, participants or jobs.
//   - store depends on no worker (inbound, outbox, jobs), no service client (agent) and
//     not on httpapi: it stores and enqueues in one transaction, and decides nothing.
//   - The clients of other services (agent, whatsapp) depend on no storage, queue or
//     worker: each makes one kind of call and returns what it got.
//   - Replies leave through outbox: outbox depends on neither inbound nor jobs, and the
//     two workers that produce replies (inbound, jobs) do not depend on each other.
//   - The foundations (config, phone, retry, devevents, metrics) import no other
//     delivery package, so any layer can use them.
//
// Rules about delivery's own packages hold for everything a package depends on, directly
// or not; rules about other modules (net/http, pgx) hold for what a package's own files
// import (store reaches net/http through whatsapp's types, which is fine).
package archtest
