with

copies as (
    select * from {{ ref('int_experiment_copies_unioned') }}
),

located as (
    {{ butter_copies_located('summary', 'copies') }}
),

final as (
    select * from located
)

select * from final
