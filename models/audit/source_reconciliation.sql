{#- Differences between published folders that should agree, one row each.
    Runs and summaries were exported separately, so they are reported here
    instead of failing the build or being dropped. -#}

with

runs_located as (
    select * from {{ ref('int_runs_located') }}
),

experiments_located as (
    select * from {{ ref('int_experiments_located') }}
),

run_copies as (
    select * from {{ ref('int_run_copies_unioned') }}
),

experiment_copies as (
    select * from {{ ref('int_experiment_copies_unioned') }}
),

experiments as (
    select * from {{ ref('experiment_summary') }}
),

run_hyperparameters as (
    select * from {{ ref('int_run_hyperparameters') }}
),

best_point_checks as (
    select * from {{ ref('int_best_point_checks') }}
),

best_point_epoch_base as (
    select epoch_base from {{ ref('int_best_point_epoch_base') }}
),

{# One experiment's runs hold different hyperparameters: the experiment's
    are those of most runs (then the summary's, then the first file's); a file
    of each side is named, the others' runs are not aggregated. #}
run_hyperparameter_groups as (
    select distinct
        experiment_id,
        fingerprint_rank,
        runs_with_fingerprint,
        example_file
    from run_hyperparameters
    where num_fingerprints > 1
),

runs_disagreeing as (
    select
        'experiment' as entity,
        cast(experiment_id as string) as entity_id,
        experiment_id,
        'experiment_runs_disagree' as difference,
        'the runs differ in hyperparameters: '
        || {{ butter_string_agg(
            "runs_with_fingerprint || ' run(s) as in ' || example_file || case when fingerprint_rank = 1 "
            ~ "then ' (the experiment''s: aggregated)' else ' (not aggregated into the experiment''s marts)' end",
            "'; '", 'fingerprint_rank') }} as detail
    from run_hyperparameter_groups
    group by experiment_id
),

{# Rows whose file stores a partition column with another value than their
    folder (the scan compares them; readers use the folder's value). #}
partition_conflicts as (
    select * from {{ butter_inventory('partition_conflicts') }}
),

run_differences as (
    select
        'run' as entity,
        run_id as entity_id,
        experiment_id,
        'run_not_in_all_runs' as difference,
        'found only in: ' || source_folders as detail
    from runs_located
    where not is_in_all_sweeps_folder

    union all

    select
        'run' as entity,
        run_id as entity_id,
        experiment_id,
        'run_copies_disagree' as difference,
        'copies in ' || source_folders || ' differ in '
        || {{ butter_copies_difference('experiment, hyperparameters, flags, seed or times') }}
        || '; read from ' || read_from_folder || ': ' || read_from_file
        || ', differing: ' || disagreeing_copy_files as detail
    from runs_located
    where has_disagreeing_copies

    union all

    select
        'run' as entity,
        run_id as entity_id,
        experiment_id,
        'run_damaged' as difference,
        source_folder || ': ' || source_file || ': ' || damage_detail || ' (quarantined)' as detail
    from run_copies
    where damage is not null
    union all

    select
        'run' as entity,
        run_id as entity_id,
        experiment_id,
        'run_duplicated_within_folder' as difference,
        'one folder holds the run in several files (' || duplicate_in_folder_files || '); read from '
        || read_from_file || ', the other copies are quarantined' as detail
    from runs_located
    where has_duplicate_in_folder
),

experiment_differences as (
    select
        'experiment' as entity,
        cast(experiment_id as string) as entity_id,
        experiment_id,
        'experiment_not_in_complete_summary' as difference,
        'found only in: ' || source_folders as detail
    from experiments_located
    where not is_in_all_sweeps_folder

    union all

    select
        'experiment' as entity,
        cast(experiment_id as string) as entity_id,
        experiment_id,
        'experiment_copies_disagree' as difference,
        'copies in ' || source_folders || ' differ in '
        || {{ butter_copies_difference('hyperparameters, flags or num_runs') }}
        || '; read from ' || read_from_folder || ': ' || read_from_file
        || ', differing: ' || disagreeing_copy_files as detail
    from experiments_located
    where has_disagreeing_copies

    union all

    select
        'experiment' as entity,
        cast(experiment_id as string) as entity_id,
        experiment_id,
        'experiment_damaged' as difference,
        source_folder || ': ' || source_file || ': ' || damage_detail || ' (quarantined)' as detail
    from experiment_copies
    where damage is not null
    union all

    select
        'experiment' as entity,
        cast(experiment_id as string) as entity_id,
        experiment_id,
        'experiment_duplicated_within_folder' as difference,
        'one folder holds the experiment in several files (' || duplicate_in_folder_files || '); read from '
        || read_from_file || ', the other copies are quarantined' as detail
    from experiments_located
    where has_duplicate_in_folder

    union all

    {# The runs win: a summary copy with other hyperparameters than the
        experiment's runs is quarantined when another copy agrees, and
        published (but reported here) when none does. #}
    select
        'experiment' as entity,
        cast(experiment_id as string) as entity_id,
        experiment_id,
        'experiment_summary_disagrees_with_runs' as difference,
        'hyperparameters in ' || folders_disagreeing_with_runs || ' differ from the experiment''s runs; '
        || case
            when is_read_copy_disagreeing_with_runs
                then 'no summary copy agrees, so ' || read_from_folder || ' is published as is'
            else 'the agreeing copy in ' || read_from_folder || ' is published, the others are quarantined'
        end as detail
    from experiments_located
    where folders_disagreeing_with_runs is not null
),

partition_differences as (
    select distinct
        case when folder_kind = 'runs' then 'run' else 'experiment' end as entity,
        entity_id,
        cast(experiment_id as {{ butter_type('uinteger') }}) as experiment_id,
        'partition_value_differs_from_file' as difference,
        'file ' || path || ' stores ' || column_name || ' = ' || coalesce(file_value, 'NULL')
        || ' but its partition folder says ' || folder_value
        || '; the folder''s value is used (as DuckDB, Spark and pyarrow read hive partitions)' as detail
    from partition_conflicts
),

{# Each sweep folder must hold exactly the entities flagged in that sweep.
    Folders that are absent (not downloaded) are not checked (`and false`):
    the build log names them, and every entity would be "missing" from them. -#}
folder_membership as (
    {%- for kind in ['runs', 'summary'] %}
        {%- set copies = 'run_copies' if kind == 'runs' else 'experiment_copies' %}
        {%- set entity = 'run' if kind == 'runs' else 'experiment' %}
        {%- set key = 'run_id' if kind == 'runs' else 'cast(experiment_id as string)' %}
        {%- for sweep in butter_sweeps() %}
            {%- set folder = sweep ~ '_sweep_' ~ kind %}
            {%- set folder_present = not execute
                or butter_inventory_folder(folder).parquet_files > 0 %}
            select
                '{{ entity }}' as entity,
                {{ key }} as entity_id,
                experiment_id,
                case
                    when bool_or(source_folder = '{{ folder }}')
                        then '{{ entity }}_in_sweep_folder_not_flagged'
                    else '{{ entity }}_flagged_but_missing_from_sweep_folder'
                end as difference,
                'sweep {{ sweep }}, folder {{ folder }}' as detail
            from {{ copies }}
            where damage is null
            group by {{ key }}, experiment_id
            having
                bool_or(source_folder = '{{ folder }}')
                != coalesce(bool_or(is_{{ sweep }}_sweep), false)
                and {{ 'true' if folder_present else 'false' }}
            union all
        {%- endfor %}
    {%- endfor %}
    select
        cast(null as string) as entity,
        cast(null as string) as entity_id,
        cast(null as {{ butter_type('uinteger') }}) as experiment_id,
        cast(null as string) as difference,
        cast(null as string) as detail
    where false
),

run_count_differences as (
    select
        'experiment' as entity,
        cast(experiment_id as string) as entity_id,
        experiment_id,
        case
            when not has_published_summary then 'experiment_without_summary'
            when runs_found = 0 then 'experiment_without_runs'
            when runs_found < num_runs then 'runs_missing'
            else 'runs_beyond_published_num_runs'
        end as difference,
        'num_runs (published) = ' || coalesce(cast(num_runs as string), 'none')
        || ', runs_found = ' || cast(runs_found as string) as detail
    from experiments
    where
        not has_published_summary
        or runs_found != num_runs
),

{# NREL's published best-point statistics against the warehouse's own from
    the runs, on the experiments whose runs are all present and agree with it
    (int_best_point_checks): values within a relative 1e-5 (float32), epochs,
    converted by the detected base, within 1e-3; epochs are not checked while
    the base is unknown. A statistic NREL publishes but the runs do not give
    (no finite value) disagrees too. -#}
best_point_differences as (
    select
        'experiment' as entity,
        cast(best_point_checks.experiment_id as string) as entity_id,
        cast(best_point_checks.experiment_id as {{ butter_type('uinteger') }}) as experiment_id,
        'experiment_best_point_disagrees_with_runs' as difference,
        {#- NREL's values are float32 (shown as such); the runs' epochs double #}
        best_point_checks.nrel_column || ': NREL '
        || {{ butter_number_text('cast(best_point_checks.nrel_value as float)') }}
        || case
            when best_point_checks.part = 'epoch' and best_point_epoch_base.epoch_base = 0
                then
                    ' (counted from 0: '
                    || {{ butter_number_text('cast(best_point_checks.nrel_value + 1 as float)') }} || ')'
            else ''
        end
        || ' vs '
        || coalesce(
            case
                when best_point_checks.part = 'value'
                    then {{ butter_number_text('cast(best_point_checks.runs_value as float)') }}
                else {{ butter_number_text('best_point_checks.runs_value') }}
            end,
            'none'
        )
        || ' from the runs' as detail
    from best_point_checks
    left join best_point_epoch_base
        on true
    where
        case
            when best_point_checks.part = 'epoch'
                then
                    best_point_epoch_base.epoch_base is not null
                    and coalesce(
                        abs(
                            best_point_checks.nrel_value + 1 - best_point_epoch_base.epoch_base
                            - best_point_checks.runs_value
                        ) > 1e-3,
                        true
                    )
            else
                coalesce(
                    abs(best_point_checks.nrel_value - best_point_checks.runs_value)
                    > 1e-5 * greatest(abs(best_point_checks.nrel_value), abs(best_point_checks.runs_value)),
                    true
                )
        end
),

final as (
    select * from run_differences
    union all
    select * from experiment_differences
    union all
    select * from runs_disagreeing
    union all
    select * from folder_membership
    union all
    select * from run_count_differences
    union all
    select * from partition_differences
    union all
    select * from best_point_differences
)

select * from final
