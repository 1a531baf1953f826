with

copies as (
    {{ butter_copies_unioned('runs') }}
),

final as (
    select * from copies
)

select * from final
