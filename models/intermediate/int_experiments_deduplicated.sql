{#- int_experiments_located is referenced in each union branch directly, not through a CTE:
    DuckDB does not prune unused columns below a CTE that several branches read,
    so every downstream model (and test) would read all per-epoch arrays. -#}
with

deduplicated as (
    {{ butter_copies_deduplicated('summary', ref('int_experiments_located'), ref('int_experiment_copies_unioned')) }}
),

final as (
    select * from deduplicated
)

select * from final
