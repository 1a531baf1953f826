{{ config(materialized='table' if var('butter_materialize_epochs') else 'view') }}

with

runs as (
    select * from {{ ref('int_runs_deduplicated') }}
),

epochs as (
    {{ butter_unnest_epochs('runs', ['run_id', 'experiment_id'], butter_run_metrics()) }}
),

final as (
    select * from epochs
)

select * from final
