"""The stewards portal (web): deposit, verdict, impact preview, receipts. Top layer, beside the CLI."""
