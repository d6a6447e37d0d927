"""Masking of identifiers and names for logs and public pages (DESIGN §9)."""


def mask_identifier(value: str) -> str:
    """``440524188001010014`` → ``4405**********0014``: keep the first 4 and last 4 characters."""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_name(name: str) -> str:
    """``张三丰`` → ``张**``; enterprise names keep their first two and last two characters."""
    if len(name) <= 1:
        return "*"
    if len(name) <= 4:
        return name[0] + "*" * (len(name) - 1)
    return name[:2] + "*" * (len(name) - 4) + name[-2:]
