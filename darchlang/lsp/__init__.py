"""The language server (`darch lsp`): what the CLI and the REPL know, for any LSP editor.

`analysis` turns a document's text into a program or its errors, and `index` into the
names it defines and uses; each feature module answers one kind of request from those
(`diagnostics`, `hover`, `completion`, `navigation`, `tokens`, `actions`), through the
application layer (`darchlang.app`) where the CLI and the REPL answer the same
question; `positions` converts between spans and the client's units, and `server`
wires it all to the protocol through pygls.
"""
