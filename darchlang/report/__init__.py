"""What a user looks at: drawings of architectures (and, with issue 15, the plots and
pages of a search)."""
