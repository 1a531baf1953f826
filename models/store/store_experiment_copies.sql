{#- The decode store of the summary folders (macros/store/butter_store.sql): every copy of every
    experiment summary in every summary folder of the contract (butter_folders, all-sweeps folder first;
    tests/python/test_staging.py checks the list) decoded once per source file
    and kept between builds: on DuckDB an incremental table in the attached
    store, to which a build adds only the files it has not decoded
    (butter_copies_decoded), then deletes the rows of changed or removed files
    and of another decode version (post-hook butter_store_prune). One import CTE
    per staging model, handed to the macro as folder -> relation. The union
    reads only the folders with parquet files to decode, so which import CTEs the
    compiled SQL uses depends on the data: sqlfluff's unused-CTE rule (ST03) is
    off for the import CTEs only. -#}
{{ config(database=butter_store_database(), post_hook="{{ butter_store_prune('summary') }}") }}

with

-- noqa: disable=ST03
stg_complete_summary as (
    select * from {{ ref('stg_butter__complete_summary') }}
),

stg_primary_sweep_summary as (
    select * from {{ ref('stg_butter__primary_sweep_summary') }}
),

stg_300_epoch_sweep_summary as (
    select * from {{ ref('stg_butter__300_epoch_sweep_summary') }}
),

stg_30k_epoch_sweep_summary as (
    select * from {{ ref('stg_butter__30k_epoch_sweep_summary') }}
),

stg_learning_rate_sweep_summary as (
    select * from {{ ref('stg_butter__learning_rate_sweep_summary') }}
),

stg_label_noise_sweep_summary as (
    select * from {{ ref('stg_butter__label_noise_sweep_summary') }}
),

stg_batch_size_sweep_summary as (
    select * from {{ ref('stg_butter__batch_size_sweep_summary') }}
),

stg_regularization_sweep_summary as (
    select * from {{ ref('stg_butter__regularization_sweep_summary') }}
),

stg_optimizer_sweep_summary as (
    select * from {{ ref('stg_butter__optimizer_sweep_summary') }}
),

stg_complete_executive_summary as (
    select * from {{ ref('stg_butter__complete_executive_summary') }}
),

-- noqa: enable=ST03
copies as (
    {{ butter_copies_decoded('summary', {
        'complete_summary': 'stg_complete_summary',
        'primary_sweep_summary': 'stg_primary_sweep_summary',
        '300_epoch_sweep_summary': 'stg_300_epoch_sweep_summary',
        '30k_epoch_sweep_summary': 'stg_30k_epoch_sweep_summary',
        'learning_rate_sweep_summary': 'stg_learning_rate_sweep_summary',
        'label_noise_sweep_summary': 'stg_label_noise_sweep_summary',
        'batch_size_sweep_summary': 'stg_batch_size_sweep_summary',
        'regularization_sweep_summary': 'stg_regularization_sweep_summary',
        'optimizer_sweep_summary': 'stg_optimizer_sweep_summary',
        'complete_executive_summary': 'stg_complete_executive_summary',
    }) }}
),

final as (
    select * from copies
)

select * from final
