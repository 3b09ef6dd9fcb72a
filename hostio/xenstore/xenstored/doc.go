// Package xenstored is the project's xenstore daemon: the tree, permissions,
// transactions, watches, domain connections and quotas of
// docs/misc/xenstore.txt, served on a Unix socket and to in-process domain
// connections (the simulated guests' rings).
//
// Concurrency: every connection has a reader goroutine that handles its
// requests in order and a writer goroutine that drains watch events. The tree
// sits under one RWMutex held only for the in-memory step of a request, never
// across I/O and never across a transaction: transactions are optimistic and
// validated at commit, per node, like C xenstored's generation counts, so a
// commit fails with EAGAIN only if a node it read changed. Watches live in a
// path trie, so firing costs the depth of the changed path, not the number of
// registered watches.
package xenstored
