"""Paper contracts in: intake (PDF or phone photos), offline OCR, rule-based extraction of the key terms into a
draft lease that a person reviews before the ledger creates the real lease (docs/contracts.md)."""
