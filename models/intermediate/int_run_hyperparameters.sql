{#- Which hyperparameters each experiment has, decided by its runs, and which
    runs disagree. The rule (deterministic, whichever run moved): the
    hyperparameters most of the experiment's runs hold; on a tie, those of the
    experiment's complete_summary copy, then of any summary copy; then those of
    the run file first by folder and path. Runs holding other hyperparameters
    stay in marts.run_best_epochs as their files say, are not aggregated into
    the experiment's marts, and are reported in audit.source_reconciliation
    (experiment_runs_disagree, a file of each side named). -#}
{{ config(materialized='table') }}

with

runs_located as (
    select * from {{ ref('int_runs_located') }}
),

run_copies as (
    select * from {{ ref('int_run_copies_unioned') }}
),

summary_copies as (
    select * from {{ ref('int_experiment_copies_unioned') }}
),

read_runs as (
    select
        runs_located.run_id,
        runs_located.experiment_id,
        runs_located.read_from_folder,
        runs_located.read_from_file,
        run_copies.hyperparameters_fingerprint
    from runs_located
    inner join run_copies
        on
            runs_located.run_id = run_copies.run_id
            and runs_located.read_from_folder = run_copies.source_folder
            and runs_located.read_from_file = run_copies.source_file
),

summary_support as (
    select
        experiment_id,
        hyperparameters_fingerprint,
        max(case when source_folder = 'complete_summary' then 2 else 1 end) as summary_support
    from summary_copies
    group by experiment_id, hyperparameters_fingerprint
),

fingerprint_groups as (
    select
        experiment_id,
        hyperparameters_fingerprint,
        count(*) as runs_with_fingerprint,
        min(read_from_folder || ': ' || read_from_file) as example_file
    from read_runs
    group by experiment_id, hyperparameters_fingerprint
),

ranked_groups as (
    select
        fingerprint_groups.experiment_id,
        fingerprint_groups.hyperparameters_fingerprint,
        fingerprint_groups.runs_with_fingerprint,
        fingerprint_groups.example_file,
        row_number() over (
            partition by fingerprint_groups.experiment_id
            order by
                fingerprint_groups.runs_with_fingerprint desc,
                coalesce(summary_support.summary_support, 0) desc,
                fingerprint_groups.example_file
        ) as fingerprint_rank,
        count(*) over (partition by fingerprint_groups.experiment_id) as num_fingerprints
    from fingerprint_groups
    left join summary_support
        on
            fingerprint_groups.experiment_id = summary_support.experiment_id
            and fingerprint_groups.hyperparameters_fingerprint = summary_support.hyperparameters_fingerprint
),

final as (
    select
        read_runs.run_id,
        read_runs.experiment_id,
        read_runs.read_from_folder,
        read_runs.read_from_file,
        read_runs.hyperparameters_fingerprint,
        ranked_groups.fingerprint_rank,
        ranked_groups.runs_with_fingerprint,
        ranked_groups.example_file,
        ranked_groups.num_fingerprints,
        ranked_groups.fingerprint_rank = 1 as has_experiment_hyperparameters
    from read_runs
    inner join ranked_groups
        on
            read_runs.experiment_id = ranked_groups.experiment_id
            and read_runs.hyperparameters_fingerprint = ranked_groups.hyperparameters_fingerprint
)

select * from final
