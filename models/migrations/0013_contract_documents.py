from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from contracts.choices import DocumentKind, DocumentStatus, DraftStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0012_wechatpay')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ContractDocument',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('sha256', fields.CharField(unique=True, max_length=64)),
                ('kind', fields.CharEnumField(description='PDF: PDF\nPHOTOS: PHOTOS', enum_type=DocumentKind, max_length=8)),
                ('status', fields.CharEnumField(default=DocumentStatus.RECEIVED, description='RECEIVED: RECEIVED\nREADING: READING\nREVIEW: REVIEW\nFAILED: FAILED', enum_type=DocumentStatus, max_length=10)),
                ('building', fields.ForeignKeyField('models.Building', source_field='building_id', null=True, db_constraint=True, to_field='id', related_name='contract_documents', on_delete=OnDelete.RESTRICT)),
                ('uploaded_by', fields.ForeignKeyField('models.User', source_field='uploaded_by_id', null=True, db_constraint=True, to_field='id', related_name='contract_documents', on_delete=OnDelete.SET_NULL)),
                ('filename', fields.CharField(default='', max_length=200)),
                ('originals', fields.JSONField(default=list, description='[{key, sha256, content_type, size_bytes, filename}]', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('page_count', fields.IntField(default=0)),
                ('pages', fields.JSONField(default=list, description='per page: source, width, height, rotation, skew, image_key, lines [{text, score, box}], problem', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('error_code', fields.CharField(default='', max_length=40)),
                ('error_message', fields.CharField(default='', max_length=300)),
                ('read_seconds', fields.FloatField(null=True)),
            ],
            options={'table': 'contract_documents', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One contract as uploaded: a PDF or the photos of its pages. ``sha256`` is the hash of the file (of the'},
            bases=['TimestampedModel'],
        ),
        ops.CreateModel(
            name='ContractDraft',
            fields=[
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('document', fields.OneToOneField('models.ContractDocument', source_field='document_id', db_constraint=True, to_field='id', related_name='draft', on_delete=OnDelete.CASCADE)),
                ('status', fields.CharEnumField(default=DraftStatus.REVIEW, description='REVIEW: REVIEW\nCREATED: CREATED', enum_type=DraftStatus, max_length=8)),
                ('extracted', fields.JSONField(default=dict, description='field name → field under review (contracts.review)', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('unit_candidates', fields.JSONField(default=list, description='proposed units, best first (never chosen here)', encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('unit', fields.ForeignKeyField('models.Unit', source_field='unit_id', null=True, db_constraint=True, to_field='id', related_name='contract_drafts', on_delete=OnDelete.RESTRICT)),
                ('lease', fields.ForeignKeyField('models.Lease', source_field='lease_id', null=True, db_constraint=True, to_field='id', related_name='contract_drafts', on_delete=OnDelete.RESTRICT)),
                ('created_by', fields.ForeignKeyField('models.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='contract_drafts_created', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'contract_drafts', 'app': 'models', 'pk_attr': 'id', 'table_description': 'The lease a document states, field by field (value, confidence, source span, page and box, flags, and'},
            bases=['TimestampedModel'],
        ),
    ]
