"""Safety filters, NSFW levels, reports and the audit log arrive with the moderation issues."""
