with

copies as (
    {{ butter_copies_unioned('summary') }}
),

final as (
    select * from copies
)

select * from final
