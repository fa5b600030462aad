"""PDF machinery shared by the document builders: fonts, shaping and bidi, streaming merge."""
