{#- What each build read and where every row went: one row per published
    folder. Files and rows read come from the parquet footers (engine macros in
    macros/engine/butter_audit_engine.sql), so they are counted independently
    of the staging views; the rows of each staging view are then followed to
    the marts: published from this folder, a duplicate of the copy read from
    another folder, quarantined (with the reason), or unaccounted (lost: the
    reconciliation test fails). -#}

{%- set folders = butter_audit_folders() -%}

with

folders as (
    {{ butter_audit_folders_sql(folders) }}
),

{# Footers: one row per file; per (file, column, stored type); per (file, name). #}
file_footers as (
    {{ butter_audit_footers_union(folders, butter_audit_file_footers,
        {'file_name': 'varchar', 'num_rows': 'bigint'}) }}
),

file_columns as (
    {{ butter_audit_footers_union(folders, butter_audit_file_columns,
        {'file_name': 'varchar', 'column_name': 'varchar', 'physical_type': 'varchar'}) }}
),

file_column_names as (
    {{ butter_audit_footers_union(folders, butter_audit_file_column_names,
        {'file_name': 'varchar', 'column_name': 'varchar'}) }}
),

expected_columns as (
    {{ butter_audit_expected_columns() }}
),

required_columns as (
    select
        folder_kind,
        canonical_name,
        min(column_name) as column_name
    from expected_columns
    where is_required_in_file
    group by folder_kind, canonical_name
),

null_partitions as (
    {{ butter_audit_null_partitions(folders) }}
),

folder_reads as (
    select
        source_folder,
        count(*) as files_read,
        sum(num_rows) as rows_read
    from file_footers
    group by source_folder
),

{# Columns outside the contract, or stored with another parquet type. #}
column_findings as (
    select
        file_columns.source_folder,
        file_columns.column_name,
        file_columns.physical_type,
        expected_columns.physical_type as expected_type,
        expected_columns.column_name is null as is_extra,
        count(distinct file_columns.file_name) as num_files,
        min(file_columns.file_name) as example_file
    from file_columns
    inner join folders
        on file_columns.source_folder = folders.source_folder
    left join expected_columns
        on
            folders.folder_kind = expected_columns.folder_kind
            and file_columns.column_name = expected_columns.column_name
    where
        expected_columns.column_name is null
        or file_columns.physical_type != expected_columns.physical_type
    group by
        file_columns.source_folder,
        file_columns.column_name,
        file_columns.physical_type,
        expected_columns.physical_type,
        expected_columns.column_name
),

schema_notes as (
    select
        source_folder,
        string_agg(
            case
                when is_extra
                    then
                        'column ' || column_name || ' is outside the BUTTER schema and not staged ('
                        || num_files || ' file(s), e.g. ' || example_file || ')'
                else
                    'column ' || column_name || ' is stored as ' || physical_type || ', expected '
                    || expected_type || ': values are cast on read (' || num_files || ' file(s), e.g. '
                    || example_file || ')'
            end,
            '; ' order by column_name, physical_type
        ) as schema_note
    from column_findings
    group by source_folder
),

{# Required columns (in any spelling) a file does not have: DuckDB takes a
    folder's schema from its first file, so such a file fails every query
    that reads the column, however late. #}
columns_found as (
    select distinct
        file_column_names.source_folder,
        file_column_names.file_name,
        expected_columns.canonical_name
    from file_column_names
    inner join folders
        on file_column_names.source_folder = folders.source_folder
    inner join expected_columns
        on
            folders.folder_kind = expected_columns.folder_kind
            and file_column_names.column_name = expected_columns.column_name
),

missing_in_files as (
    select
        file_footers.source_folder,
        file_footers.file_name,
        required_columns.column_name
    from file_footers
    inner join folders
        on file_footers.source_folder = folders.source_folder
    inner join required_columns
        on folders.folder_kind = required_columns.folder_kind
    left join columns_found
        on
            file_footers.source_folder = columns_found.source_folder
            and file_footers.file_name = columns_found.file_name
            and required_columns.canonical_name = columns_found.canonical_name
    where columns_found.canonical_name is null
),

missing_by_column as (
    select
        source_folder,
        column_name,
        count(*) as num_files,
        min(file_name) as example_file
    from missing_in_files
    group by source_folder, column_name
),

missing_notes as (
    select
        source_folder,
        string_agg(
            'column ' || column_name || ' is missing from ' || num_files || ' file(s), e.g. '
            || example_file || ': queries reading it fail; download the file(s) again',
            '; ' order by column_name
        ) as missing_note
    from missing_by_column
    group by source_folder
),

missing_files as (
    select
        source_folder,
        count(distinct file_name) as files_missing_columns
    from missing_in_files
    group by source_folder
),

{# Every staging row (the copy models hold one row per staging row), the
    folder its entity is read from, and whether the entity reached its mart. #}
copies as (
    select
        'runs' as folder_kind,
        source_folder,
        run_id as entity_id,
        agreement_fingerprint
    from {{ ref('int_run_copies_unioned') }}
    union all
    select
        'summary' as folder_kind,
        source_folder,
        cast(experiment_id as varchar) as entity_id,
        agreement_fingerprint
    from {{ ref('int_experiment_copies_unioned') }}
),

located as (
    select
        'runs' as folder_kind,
        run_id as entity_id,
        read_from_folder
    from {{ ref('int_runs_located') }}
    union all
    select
        'summary' as folder_kind,
        cast(experiment_id as varchar) as entity_id,
        read_from_folder
    from {{ ref('int_experiments_located') }}
),

in_marts as (
    select distinct
        'runs' as folder_kind,
        run_id as entity_id
    from {{ ref('run_best_epochs') }}
    union all
    select distinct
        'summary' as folder_kind,
        cast(experiment_id as varchar) as entity_id
    from {{ ref('experiment_summary') }}
    where has_published_summary
),

read_copies as (
    select
        copies.folder_kind,
        copies.entity_id,
        {{ butter_any_value('copies.agreement_fingerprint') }} as read_fingerprint
    from copies
    inner join located
        on
            copies.folder_kind = located.folder_kind
            and copies.entity_id = located.entity_id
            and copies.source_folder = located.read_from_folder
    group by copies.folder_kind, copies.entity_id
),

classified as (
    select
        copies.folder_kind,
        copies.source_folder,
        copies.entity_id,
        case
            when copies.entity_id is null then 'quarantined'
            when in_marts.entity_id is null then 'unaccounted'
            when copies.source_folder = located.read_from_folder then 'published'
            when copies.agreement_fingerprint = read_copies.read_fingerprint then 'duplicate'
            else 'quarantined'
        end as outcome,
        case
            when copies.entity_id is null
                then
                    case when copies.folder_kind = 'runs' then 'run_id' else 'experiment_id' end
                    || ' is NULL'
            else
                'differs from the copy read from ' || located.read_from_folder
                || ', which is published instead (see audit.source_reconciliation)'
        end as quarantine_reason
    from copies
    left join located
        on
            copies.folder_kind = located.folder_kind
            and copies.entity_id = located.entity_id
    left join read_copies
        on
            copies.folder_kind = read_copies.folder_kind
            and copies.entity_id = read_copies.entity_id
    left join in_marts
        on
            copies.folder_kind = in_marts.folder_kind
            and copies.entity_id = in_marts.entity_id
),

outcomes as (
    select
        source_folder,
        count(*) as rows_in_staging,
        count(*) filter (where outcome = 'published') as rows_published,
        count(*) filter (where outcome = 'duplicate') as rows_duplicate_of_other_folder,
        count(*) filter (where outcome = 'quarantined') as rows_quarantined,
        count(*) filter (where outcome = 'unaccounted') as rows_unaccounted,
        min(entity_id) filter (where outcome = 'unaccounted') as example_unaccounted
    from classified
    group by source_folder
),

quarantine_counts as (
    select
        source_folder,
        quarantine_reason,
        count(*) as num_rows
    from classified
    where outcome = 'quarantined'
    group by source_folder, quarantine_reason
),

quarantine_reasons as (
    select
        source_folder,
        string_agg(quarantine_reason || ': ' || num_rows || ' row(s)', '; ' order by quarantine_reason)
            as quarantine_reasons
    from quarantine_counts
    group by source_folder
),

final as (
    select
        folders.source_folder,
        folders.folder_kind,
        folders.folder_path,
        cast(coalesce(folder_reads.files_read, 0) as bigint) as files_read,
        cast(coalesce(folder_reads.rows_read, 0) as bigint) as rows_read,
        cast(coalesce(outcomes.rows_in_staging, 0) as bigint) as rows_in_staging,
        cast(coalesce(outcomes.rows_published, 0) as bigint) as rows_published,
        cast(coalesce(outcomes.rows_duplicate_of_other_folder, 0) as bigint) as rows_duplicate_of_other_folder,
        cast(coalesce(outcomes.rows_quarantined, 0) as bigint) as rows_quarantined,
        quarantine_reasons.quarantine_reasons,
        cast(coalesce(outcomes.rows_unaccounted, 0) as bigint) as rows_unaccounted,
        cast(coalesce(null_partitions.rows_null_partition, 0) as bigint) as rows_null_partition,
        cast(coalesce(missing_files.files_missing_columns, 0) as bigint) as files_missing_columns,
        nullif(concat_ws(
            '; ',
            case
                when folders.parquet_files_found = 0 and folders.other_files_found = 0
                    then
                        'folder absent: no file under ' || folders.folder_path
                        || '/, so it was skipped and its staging view is empty; download it or point '
                        || 'BUTTER_DATA_ROOT at a data root that holds it'
                when folders.parquet_files_found = 0
                    then
                        'folder holds no parquet data file (only ' || folders.other_files_found
                        || ' other file(s), e.g. _common_metadata), so it was skipped and its staging '
                        || 'view is empty; download its data files'
            end,
            missing_notes.missing_note,
            schema_notes.schema_note,
            null_partitions.partition_note,
            case
                when outcomes.rows_unaccounted > 0
                    then
                        outcomes.rows_unaccounted || ' row(s) did not reach marts.'
                        || case when folders.folder_kind = 'runs' then 'run_best_epochs' else 'experiment_summary' end
                        || ' and are not quarantined (lost), e.g. ' || outcomes.example_unaccounted
            end
        ), '') as note,
        cast('{{ run_started_at }}' as timestamp with time zone) as audited_at,
        '{{ invocation_id }}' as invocation_id
    from folders
    left join folder_reads
        on folders.source_folder = folder_reads.source_folder
    left join outcomes
        on folders.source_folder = outcomes.source_folder
    left join quarantine_reasons
        on folders.source_folder = quarantine_reasons.source_folder
    left join schema_notes
        on folders.source_folder = schema_notes.source_folder
    left join null_partitions
        on folders.source_folder = null_partitions.source_folder
    left join missing_notes
        on folders.source_folder = missing_notes.source_folder
    left join missing_files
        on folders.source_folder = missing_files.source_folder
)

select * from final
