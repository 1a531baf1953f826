{#- What each build read and where every row went: one row per published
    folder, and one per other folder or file at the data root (folder_kind
    unknown or archive: recorded by the scan, never read; the note says what it
    is and why). Files, rows, partition values and column findings come from the
    file inventory (butter_warehouse/inventory/: the folders listed
    independently of the SQL reader, each parquet footer read once); the rows
    of each staging view are then followed to the marts: published from this
    folder, a duplicate of the copy read from another folder, quarantined
    (with the reason), or unaccounted (lost: the reconciliation test fails). -#}

with

inventory_folders as (
    select * from {{ butter_inventory('folders') }}
),

inventory_files as (
    select * from {{ butter_inventory('files') }}
),

inventory_problems as (
    select * from {{ butter_inventory('problems') }}
),

run_copies as (
    select * from {{ ref('int_run_copies_unioned') }}
),

experiment_copies as (
    select * from {{ ref('int_experiment_copies_unioned') }}
),

runs_located as (
    select * from {{ ref('int_runs_located') }}
),

experiments_located as (
    select * from {{ ref('int_experiments_located') }}
),

run_best_epochs as (
    select * from {{ ref('run_best_epochs') }}
),

experiment_summary as (
    select * from {{ ref('experiment_summary') }}
),

folder_reads as (
    select
        folder as source_folder,
        count(*) as files_read,
        sum(num_rows) as rows_read
    from inventory_files
    group by folder
),

{# Rows under a partition folder whose value is NULL in a partition column
    BUTTER never leaves NULL (all but kernel_regularizer_type): the published
    __HIVE_DEFAULT_PARTITION__ or the text NULL, which both engines read as
    NULL (the scan also reports that spelling). #}
null_partitions as (
    select
        folder as source_folder,
        sum(num_rows) as rows_null_partition,
        'rows with a NULL partition value (__HIVE_DEFAULT_PARTITION__ or the text NULL) in '
        || {{ butter_string_agg('null_partition_columns', "' / '", 'null_partition_columns', distinct=true) }}
        || ': ' || sum(num_rows) || ', e.g. ' || min(path) as partition_note
    from inventory_files
    where null_partition_columns is not null
    group by folder
),

{# The scan's warnings: columns outside the contract, stored with another type. #}
scan_notes as (
    select
        folder as source_folder,
        {{ butter_string_agg('problem', "'; '", 'problem') }} as scan_note
    from inventory_problems
    where severity = 'warning' and folder is not null
    group by folder
),

{# Every staging row (the copy models hold one row per staging row), the
    folder its entity is read from, and whether the entity reached its mart. #}
copies as (
    {{ butter_audit_copies('run_copies', 'experiment_copies') }}
),

located as (
    {{ butter_audit_located('runs_located', 'experiments_located') }}
),

in_marts as (
    {{ butter_audit_in_marts('run_best_epochs', 'experiment_summary') }}
),

{# Files with rows on disk that no staging row came from: read less than the folder holds. #}
staged_files as (
    select distinct
        source_folder,
        source_file
    from copies
),

unread_files as (
    select
        inventory_files.folder as source_folder,
        count(*) as files_unread,
        min(inventory_files.path) as example_unread
    from inventory_files
    left join staged_files
        on
            inventory_files.folder = staged_files.source_folder
            and inventory_files.path = staged_files.source_file
    where inventory_files.num_rows > 0 and staged_files.source_file is null
    group by inventory_files.folder
),

read_copies as (
    select
        copies.folder_kind,
        copies.entity_id,
        {{ butter_any_value('copies.values_fingerprint') }} as read_values_fingerprint,
        {{ butter_any_value('copies.arrays_fingerprint') }} as read_arrays_fingerprint,
        {{ butter_any_value('copies.executive_arrays_fingerprint') }} as read_executive_arrays_fingerprint
    from copies
    inner join located
        on
            copies.folder_kind = located.folder_kind
            and copies.entity_id = located.entity_id
            and copies.source_folder = located.read_from_folder
            and copies.source_file = located.read_from_file
    group by copies.folder_kind, copies.entity_id
),

classified as (
    select
        copies.folder_kind,
        copies.source_folder,
        copies.entity_id,
        case
            when copies.damage is not null then 'quarantined'
            when in_marts.entity_id is null then 'unaccounted'
            when
                copies.source_folder = located.read_from_folder
                and copies.source_file = located.read_from_file
                then 'published'
            when copies.source_folder = located.read_from_folder or copies.folder_copy_rank > 1 then 'quarantined'
            when copies.hyperparameters_fingerprint != located.runs_hyperparameters_fingerprint then 'quarantined'
            when {{ butter_copies_agree('copies.', 'read_copies.read_') }} then 'duplicate'
            else 'quarantined'
        end as outcome,
        copies.damage is not null as is_damaged,
        case
            when copies.damage is not null
                then
                    'damaged row: ' || copies.damage
                    || ' (each row with its file in audit.source_reconciliation)'
            when copies.source_folder = located.read_from_folder or copies.folder_copy_rank > 1
                then
                    'a second copy in the same folder (another file holds the same '
                    || case when copies.folder_kind = 'runs' then 'run_id' else 'experiment_id' end
                    || '; both files are named in audit.source_reconciliation)'
            when copies.hyperparameters_fingerprint != located.runs_hyperparameters_fingerprint
                then
                    'hyperparameters differ from the experiment''s runs (the runs win; the copy read from '
                    || located.read_from_folder || ' is published; see audit.source_reconciliation)'
            else
                'differs from the copy read from ' || located.read_from_folder
                || ', which is published instead (see audit.source_reconciliation)'
        end as quarantine_reason
    from (
        select
            *,
            row_number() over (
                partition by folder_kind, entity_id, source_folder order by source_file
            ) as folder_copy_rank
        from copies
    ) as copies
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
        count(*) filter (where is_damaged) as rows_damaged,
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
        {{ butter_string_agg("quarantine_reason || ': ' || num_rows || ' row(s)'", "'; '", 'quarantine_reason') }}
            as quarantine_reasons
    from quarantine_counts
    group by source_folder
),

final as (
    select
        inventory_folders.folder as source_folder,
        inventory_folders.folder_kind,
        inventory_folders.folder_path,
        cast(coalesce(folder_reads.files_read, 0) as bigint) as files_read,
        cast(coalesce(folder_reads.rows_read, 0) as bigint) as rows_read,
        cast(coalesce(outcomes.rows_in_staging, 0) as bigint) as rows_in_staging,
        cast(coalesce(outcomes.rows_published, 0) as bigint) as rows_published,
        cast(coalesce(outcomes.rows_duplicate_of_other_folder, 0) as bigint) as rows_duplicate_of_other_folder,
        cast(coalesce(outcomes.rows_quarantined, 0) as bigint) as rows_quarantined,
        cast(coalesce(outcomes.rows_damaged, 0) as bigint) as rows_damaged,
        quarantine_reasons.quarantine_reasons,
        cast(coalesce(outcomes.rows_unaccounted, 0) as bigint) as rows_unaccounted,
        cast(coalesce(null_partitions.rows_null_partition, 0) as bigint) as rows_null_partition,
        cast(coalesce(unread_files.files_unread, 0) as bigint) as files_unread,
        nullif(concat_ws(
            '; ',
            inventory_folders.not_read_reason,
            case
                when inventory_folders.folder_kind not in ('runs', 'summary') then null
                when not inventory_folders.is_present
                    then
                        'folder absent: no file under ' || inventory_folders.folder_path
                        || '/, so it was skipped and its staging view is empty; download it or point '
                        || 'BUTTER_DATA_ROOT at a data root that holds it'
                when inventory_folders.parquet_files = 0
                    then
                        'folder holds no parquet data file (only ' || inventory_folders.other_files
                        || ' other file(s), e.g. _common_metadata), so it was skipped and its staging '
                        || 'view is empty; download its data files'
            end,
            scan_notes.scan_note,
            null_partitions.partition_note,
            case
                when unread_files.files_unread > 0
                    then
                        unread_files.files_unread || ' file(s) with rows on disk were not read, e.g. '
                        || unread_files.example_unread
            end,
            case
                when outcomes.rows_unaccounted > 0
                    then
                        outcomes.rows_unaccounted || ' row(s) did not reach marts.'
                        || case
                            when inventory_folders.folder_kind = 'runs' then 'run_best_epochs'
                            else 'experiment_summary'
                        end
                        || ' and are not quarantined (lost), e.g. ' || outcomes.example_unaccounted
            end
        ), '') as note,
        cast('{{ run_started_at }}' as {{ butter_type('timestamp with time zone') }}) as audited_at,
        '{{ invocation_id }}' as invocation_id
    from inventory_folders
    left join folder_reads
        on inventory_folders.folder = folder_reads.source_folder
    left join outcomes
        on inventory_folders.folder = outcomes.source_folder
    left join quarantine_reasons
        on inventory_folders.folder = quarantine_reasons.source_folder
    left join scan_notes
        on inventory_folders.folder = scan_notes.source_folder
    left join null_partitions
        on inventory_folders.folder = null_partitions.source_folder
    left join unread_files
        on inventory_folders.folder = unread_files.source_folder
)

select * from final
