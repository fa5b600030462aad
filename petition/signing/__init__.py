"""The supporter's path: the sign form, sign, confirm and withdraw, the public pages."""
