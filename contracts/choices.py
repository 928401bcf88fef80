"""Contract intake constants: document kinds and statuses, page sources, draft statuses, error codes."""

from enum import StrEnum


class DocumentKind(StrEnum):
    PDF = "PDF"  # scanned or digital: each page read from its text layer when it has one, else OCR
    PHOTOS = "PHOTOS"  # phone photos of the pages, one image a page


class DocumentStatus(StrEnum):
    RECEIVED = "RECEIVED"  # stored, not read yet
    READING = "READING"  # pages being read (text layer / OCR in the worker pool)
    REVIEW = "REVIEW"  # read and extracted: its draft waits for a person
    FAILED = "FAILED"  # could not be read at all (error_code says why); the original is kept


class PageSource(StrEnum):
    TEXT_LAYER = "TEXT_LAYER"  # a digital PDF page: its own text, no OCR
    OCR = "OCR"


class DraftStatus(StrEnum):
    REVIEW = "REVIEW"
    CREATED = "CREATED"  # the real lease exists (draft.lease)


#: Page-level problems recorded on the document (the page is kept; the reviewer sees the gap).
PAGE_TIMEOUT = "OCR_PAGE_TIMEOUT"
PAGE_FAILED = "OCR_PAGE_FAILED"

#: Flags that block creating the lease until the field is corrected (a confirmation alone does not clear them).
BLOCKING_FLAGS = frozenset({"INVALID_FREQUENCY_CODE", "AMOUNT_MISMATCH", "INCONSISTENT_DATES", "UNREADABLE"})
