{#- The day-grain time spine MetricFlow requires (one row per day, 2020-2030).
    BUTTER's marts are not time series; the spine only has to cover the
    semantic models' time dimension (the dataset's publication year, 2022). -#}
{{ config(materialized='table', schema='marts', contract={'enforced': true}) }}

with

days as (
    {{ dbt.date_spine('day', "cast('2020-01-01' as date)", "cast('2031-01-01' as date)") }}
),

final as (
    select cast(date_day as date) as date_day
    from days
)

select * from final
