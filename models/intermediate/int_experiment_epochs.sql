{{ config(materialized='table' if var('butter_materialize_epochs') else 'view') }}

with

experiments as (
    select * from {{ ref('int_experiments_deduplicated') }}
),

epochs as (
    {{ butter_unnest_epochs('experiments', ['experiment_id'], butter_summary_statistics()) }}
),

final as (
    select * from epochs
)

select * from final
