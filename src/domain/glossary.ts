/**
 * Glossary — the words used across Syncline.
 *
 * - company: a business whose accounting data a client wants. Has tags, connections and cached data.
 * - integration: an accounting platform Syncline can read (Sandbox `mqjo`, Xero `gbol`, QuickBooks Online `qhyg`,
 *   QuickBooks Online Sandbox `ndsk`), identified by a four-letter platform key.
 * - connection (data connection): one company's link to one integration, with its credentials and status
 *   (PendingAuth → Linked → Unlinked / Deauthorized).
 * - data type: one of 43 kinds of data (`invoices`, `balanceSheet`, `banking-accounts`…). v1 reads 17 of them.
 * - dataset (pull operation): one pull of one data type through one connection; the unit of queueing.
 * - read: the set of datasets one trigger queued for one connection (refresh-all, single refresh, schedule, first link).
 * - sync settings: per data type, whether it is fetched on first link, how often it is refreshed and how much history.
 * - current accounting connection: the most recently created, non-deleted accounting connection of a company; company-level
 *   reads, data status and single-type refreshes use it.
 */
export {};
