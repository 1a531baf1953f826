{#- The decode store of the runs folders (macros/store/butter_store.sql): every copy of every
    run in every runs folder of the contract (butter_folders, all-sweeps folder first;
    tests/python/test_staging.py checks the list) decoded once per source file
    and kept between builds: on DuckDB an incremental table in the attached
    store, to which a build adds only the files it has not decoded
    (butter_copies_decoded), then deletes the rows of changed or removed files
    and of another decode version (post-hook butter_store_prune). One import CTE
    per staging model, handed to the macro as folder -> relation. The union
    reads only the folders with parquet files to decode, so which import CTEs the
    compiled SQL uses depends on the data: sqlfluff's unused-CTE rule (ST03) is
    off for the import CTEs only. -#}
{{ config(database=butter_store_database(), post_hook="{{ butter_store_prune('runs') }}") }}

with

-- noqa: disable=ST03
stg_all_runs as (
    select * from {{ ref('stg_butter__all_runs') }}
),

stg_all_repetitions as (
    select * from {{ ref('stg_butter__all_repetitions') }}
),

stg_primary_sweep_runs as (
    select * from {{ ref('stg_butter__primary_sweep_runs') }}
),

stg_300_epoch_sweep_runs as (
    select * from {{ ref('stg_butter__300_epoch_sweep_runs') }}
),

stg_30k_epoch_sweep_runs as (
    select * from {{ ref('stg_butter__30k_epoch_sweep_runs') }}
),

stg_learning_rate_sweep_runs as (
    select * from {{ ref('stg_butter__learning_rate_sweep_runs') }}
),

stg_label_noise_sweep_runs as (
    select * from {{ ref('stg_butter__label_noise_sweep_runs') }}
),

stg_batch_size_sweep_runs as (
    select * from {{ ref('stg_butter__batch_size_sweep_runs') }}
),

stg_regularization_sweep_runs as (
    select * from {{ ref('stg_butter__regularization_sweep_runs') }}
),

stg_optimizer_sweep_runs as (
    select * from {{ ref('stg_butter__optimizer_sweep_runs') }}
),

-- noqa: enable=ST03
copies as (
    {{ butter_copies_decoded('runs', {
        'all_runs': 'stg_all_runs',
        'all_repetitions': 'stg_all_repetitions',
        'primary_sweep_runs': 'stg_primary_sweep_runs',
        '300_epoch_sweep_runs': 'stg_300_epoch_sweep_runs',
        '30k_epoch_sweep_runs': 'stg_30k_epoch_sweep_runs',
        'learning_rate_sweep_runs': 'stg_learning_rate_sweep_runs',
        'label_noise_sweep_runs': 'stg_label_noise_sweep_runs',
        'batch_size_sweep_runs': 'stg_batch_size_sweep_runs',
        'regularization_sweep_runs': 'stg_regularization_sweep_runs',
        'optimizer_sweep_runs': 'stg_optimizer_sweep_runs',
    }) }}
),

final as (
    select * from copies
)

select * from final
