// The darchlang extension: starts `darch lsp` (stdio) for .darch files. Everything
// else (diagnostics, hover, completion, navigation, formatting, semantic tokens) is
// the server's; the TextMate grammar colours the text before the server answers.
"use strict";

const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const config = vscode.workspace.getConfiguration("darch");
  const [command, ...args] = config.get("server.command", ["darch", "lsp"]);
  const server = { command, args }; // an executable talks over stdio
  client = new LanguageClient("darch", "darchlang", server, {
    documentSelector: [
      { scheme: "file", language: "darch" },
      { scheme: "untitled", language: "darch" },
    ],
    initializationOptions: { input: config.get("input", "") },
    synchronize: { configurationSection: "darch" },
  });
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
