"""The application layer: the actions every front end calls.

The `darch` commands, the REPL, the language server and notebooks do the same few
things; each is written once here and the front ends only read their arguments and
print (or send) the answer:

- `programs`: load a program (its `train` block checked), count a space (and its
  network and settings parts), pick and sample architectures, the compile summary;
- `training`: the classifier evaluator and a watch on its progress;
- `searching`: a search set up from one request (program, searcher, evaluator, seeds,
  journal, executor), ready to run;
- `describe`: what a name is, in a word, a line, or its documentation;
- `complete`: completion candidates for the text before a cursor;
- `reader`: what kind of input a text is and whether it is complete.

Modules here import the language and the backends; nothing below imports them.
"""
